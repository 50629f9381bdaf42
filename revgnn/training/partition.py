r"""Mini-batching a graph by node partitions, for training and for evaluation.

The schemes give the batches of one epoch (:meth:`Partitioner.batches`), each batch the
subgraph induced by a set of nodes, carrying the global ids of its nodes in ``n_id``:

* :class:`FullBatch`: the whole graph, one batch.
* :class:`RandomPartition`: the nodes split uniformly at random into :math:`K` parts, redrawn
  every epoch (the RevGNN / DeeperGCN scheme for ogbn-proteins). The draw depends only on
  ``(seed, epoch)``, so it is reproducible, needs no global random state and resumes exactly.
* :class:`~revgnn.training.metis.MetisPartition`: METIS clusters (Cluster-GCN).

:func:`multiview_predict` evaluates on ``V`` fixed random partitions and averages the logits
over the views (the paper's multi-view evaluation for ogbn-proteins).
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from revgnn.training.lazy_batches import LazyBatches

__all__ = [
    "PARTITIONS",
    "FullBatch",
    "Partitioner",
    "RandomPartition",
    "Subgraphs",
    "epoch_generator",
    "induced_subgraphs",
    "make_partitioner",
    "multiview_predict",
    "random_parts",
]

#: The partition schemes of :func:`make_partitioner`.
PARTITIONS = ("full", "random", "metis")


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A generator seeded from ``(seed, epoch)`` (a well-mixed 63-bit seed), independent of
    every global random state: what each epoch's batches are drawn from."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 ^ int(state[1]))


def random_parts(num_nodes: int, num_parts: int, seed: int, epoch: int = 0) -> list[Tensor]:
    """Split ``range(num_nodes)`` uniformly at random into ``num_parts`` near-equal parts.

    Deterministic in ``(seed, epoch)``; each part's node ids are sorted.
    """
    if not 1 <= num_parts <= num_nodes:
        raise ValueError(f"num_parts={num_parts} must lie in [1, num_nodes={num_nodes}]")
    perm = torch.randperm(num_nodes, generator=epoch_generator(seed, epoch))
    return [p.sort().values for p in perm.tensor_split(num_parts)]


class Subgraphs(LazyBatches[Data]):
    """The subgraphs induced by disjoint node sets ``parts``, each built when it is read
    (:class:`~revgnn.training.lazy_batches.LazyBatches`).

    The edges are grouped by part once, in one pass over the graph; a subgraph's node
    attributes (rows of ``x``, ``y``), its edges (relabelled, with their ``edge_attr``) and
    ``n_id`` (the global ids) are gathered when it is indexed, and freed with it. An epoch's
    batches therefore hold one batch's copy of the features at a time, not a second copy of
    the whole graph's. Indexing by a slice gives a :class:`Subgraphs` of those parts.

    Args:
        data (Data): The graph.
        parts (list of Tensor): Disjoint sets of node ids, each sorted.
    """

    def __init__(self, data: Data, parts: list[Tensor]) -> None:
        n = int(data.num_nodes)
        assign = torch.full((n,), -1, dtype=torch.long)
        local = torch.empty(n, dtype=torch.long)
        for k, idx in enumerate(parts):
            assign[idx] = k
            local[idx] = torch.arange(idx.numel())
        row, col = data.edge_index
        part_of_edge = assign[row]
        keep = (part_of_edge == assign[col]) & (part_of_edge >= 0)
        edge_ids = keep.nonzero().view(-1)
        order = torch.sort(part_of_edge[edge_ids], stable=True)
        counts = torch.bincount(order.values, minlength=len(parts)).tolist()
        edge_ids = edge_ids[order.indices]
        starts = [0, *itertools.accumulate(counts)]
        self._data, self._parts = data, list(parts)
        # A function of its own arguments, not a bound method: no cycle keeps this alive.
        build = functools.partial(_induced, data, self._parts, local, edge_ids, starts)
        super().__init__(len(self._parts), build)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({len(self)} of {len(self._parts)} parts of a "
            f"{int(self._data.num_nodes)}-node graph)"
        )


def _induced(
    data: Data, parts: list[Tensor], local: Tensor, edge_ids: Tensor, starts: list[int], k: int
) -> Data:
    """Part ``k``'s subgraph, from :class:`Subgraphs`' grouping of the edges by part."""
    idx = parts[k]
    e = edge_ids[starts[k] : starts[k + 1]]
    row, col = data.edge_index
    sub = Data(edge_index=torch.stack([local[row[e]], local[col[e]]]), n_id=idx,
               num_nodes=idx.numel())  # fmt: skip
    for key in ("x", "y"):
        if data.get(key) is not None:
            sub[key] = data[key][idx]
    if data.get("edge_attr") is not None:
        sub.edge_attr = data.edge_attr[e]
    return sub


def induced_subgraphs(data: Data, parts: list[Tensor]) -> Subgraphs:
    """The subgraphs induced by disjoint node sets ``parts`` (:class:`Subgraphs`: each
    built when it is read), with ``n_id``, the global ids of their nodes."""
    return Subgraphs(data, parts)


class Partitioner:
    """Gives the batches of each epoch. Subclasses define :meth:`batches`."""

    def batches(self, epoch: int) -> Sequence[Data]:
        """The batches of ``epoch`` (1-based), each with ``n_id`` (global node ids)."""
        raise NotImplementedError


class FullBatch(Partitioner):
    """The whole graph as one batch every epoch."""

    def __init__(self, data: Data) -> None:
        self.data = copy.copy(data)
        self.data.n_id = torch.arange(int(data.num_nodes))

    def batches(self, epoch: int) -> Sequence[Data]:
        return [self.data]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class RandomPartition(Partitioner):
    """A uniformly random partition into ``num_parts`` parts, redrawn every epoch.

    Args:
        data (Data): The graph.
        num_parts (int): Number of parts :math:`K` (batches per epoch).
        seed (int): Seed; the partition of an epoch depends on ``(seed, epoch)`` only.
    """

    def __init__(self, data: Data, num_parts: int, seed: int = 0) -> None:
        if num_parts < 1:
            raise ValueError(f"num_parts={num_parts} must be at least 1")
        self.data, self.num_parts, self.seed = data, num_parts, seed

    def parts(self, epoch: int) -> list[Tensor]:
        return random_parts(int(self.data.num_nodes), self.num_parts, self.seed, epoch)

    def batches(self, epoch: int) -> Sequence[Data]:
        return induced_subgraphs(self.data, self.parts(epoch))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_parts={self.num_parts}, seed={self.seed})"


def make_partitioner(
    data: Data,
    scheme: str,
    num_parts: int = 1,
    seed: int = 0,
    cache_dir: str | None = None,
) -> Partitioner:
    """``"full"``, ``"random"`` (``num_parts`` parts redrawn per epoch) or ``"metis"``."""
    if scheme == "full":
        return FullBatch(data)
    if scheme == "random":
        return RandomPartition(data, num_parts, seed)
    if scheme == "metis":
        from revgnn.training.metis import MetisPartition

        return MetisPartition(data, num_parts, seed=seed, cache_dir=cache_dir)
    raise ValueError(f"partition={scheme!r} must be one of {', '.join(PARTITIONS)}")


@torch.no_grad()
def multiview_predict(
    forward: Callable[[Data], Tensor] | nn.Module,
    data: Data,
    num_parts: int,
    num_views: int = 1,
    seed: int = 0,
) -> Tensor:
    r"""Logits of every node averaged over ``num_views`` fixed random partitions.

    View :math:`v` splits the nodes into ``num_parts`` random parts (the same ones at every
    call, drawn from ``(seed, v)``), runs ``forward`` on each induced subgraph and scatters
    the logits back; the result is the mean over the views. ``num_parts=1`` is plain
    full-graph inference. ``forward`` maps a batch (:class:`Data` with ``x``,
    ``edge_index``, optional ``edge_attr``) to logits :math:`(n, C)`.

    Returns:
        Tensor: :math:`(N, C)` float logits, on the device ``forward`` returned them on.
    """
    if num_views < 1:
        raise ValueError(f"num_views={num_views} must be at least 1")
    n = int(data.num_nodes)
    if num_parts == 1:
        num_views = 1
    total: Tensor | None = None
    for view in range(num_views):
        parts = [torch.arange(n)] if num_parts == 1 else random_parts(n, num_parts, seed, view)
        subgraphs = induced_subgraphs(data, parts) if num_parts > 1 else [_with_ids(data)]
        for sub in subgraphs:
            out = forward(sub).float()
            if total is None:
                total = out.new_zeros(n, out.size(-1))
            total[sub.n_id.to(out.device)] += out
    assert total is not None
    return total / num_views


def _with_ids(data: Data) -> Data:
    out = copy.copy(data)
    out.n_id = torch.arange(int(data.num_nodes))
    return out
