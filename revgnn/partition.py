r"""Mini-batching a large graph by node partitions, for training and for evaluation.

Three schemes give the batches of one epoch (:meth:`Partitioner.batches`), each batch the
subgraph induced by a set of nodes, carrying the global ids of its nodes in ``n_id``:

* :class:`FullBatch`: the whole graph, one batch.
* :class:`RandomPartition`: the nodes split uniformly at random into :math:`K` parts, redrawn
  every epoch (the RevGNN / DeeperGCN scheme for ogbn-proteins). The draw depends only on
  ``(seed, epoch)``, so it is reproducible, needs no global random state and resumes exactly.
* :class:`MetisPartition`: METIS clusters (Cluster-GCN) through PyG's ``ClusterData`` /
  ``ClusterLoader``, with the METIS call made by pymetis (PyG's own needs pyg-lib or
  torch-sparse, which it still uses when pymetis is missing). The assignment is cached on
  disk.

:func:`multiview_predict` evaluates on ``V`` fixed random partitions and averages the logits
over the views (the paper's multi-view evaluation for ogbn-proteins).
"""

from __future__ import annotations

import copy
import hashlib
import os
import os.path as osp
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.loader import ClusterData, ClusterLoader

__all__ = [
    "FullBatch",
    "MetisClusterData",
    "MetisPartition",
    "Partitioner",
    "RandomPartition",
    "induced_subgraphs",
    "make_partitioner",
    "metis_assignment",
    "multiview_predict",
    "random_parts",
    "shard_batches",
]


def _generator(seed: int, epoch: int) -> torch.Generator:
    # A well-mixed 63-bit seed from (seed, epoch); independent of every global RNG.
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 ^ int(state[1]))


def random_parts(num_nodes: int, num_parts: int, seed: int, epoch: int = 0) -> list[Tensor]:
    """Split ``range(num_nodes)`` uniformly at random into ``num_parts`` near-equal parts.

    Deterministic in ``(seed, epoch)``; each part's node ids are sorted.
    """
    if not 1 <= num_parts <= num_nodes:
        raise ValueError(f"num_parts={num_parts} must lie in [1, num_nodes={num_nodes}]")
    perm = torch.randperm(num_nodes, generator=_generator(seed, epoch))
    return [p.sort().values for p in perm.tensor_split(num_parts)]


def induced_subgraphs(data: Data, parts: list[Tensor]) -> list[Data]:
    """The subgraphs induced by disjoint node sets ``parts``, in one pass over the edges.

    Each subgraph has the node attributes of its nodes (rows of ``x``, ``y``), the edges
    with both ends inside the part (and their ``edge_attr``), and ``n_id``, the global ids.
    """
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
    edge_ids = edge_ids[order.indices]
    counts = torch.bincount(order.values, minlength=len(parts)).tolist()
    edge_attr = data.get("edge_attr")
    out, start = [], 0
    for idx, count in zip(parts, counts):
        e = edge_ids[start : start + count]
        start += count
        sub = Data(
            edge_index=torch.stack([local[row[e]], local[col[e]]]),
            n_id=idx,
            num_nodes=idx.numel(),
        )
        for key in ("x", "y"):
            if data.get(key) is not None:
                sub[key] = data[key][idx]
        if edge_attr is not None:
            sub.edge_attr = edge_attr[e]
        out.append(sub)
    return out


class Partitioner:
    """Gives the batches of each epoch. Subclasses define :meth:`batches`."""

    def batches(self, epoch: int) -> list[Data]:
        """The batches of ``epoch`` (1-based), each with ``n_id`` (global node ids)."""
        raise NotImplementedError


class FullBatch(Partitioner):
    """The whole graph as one batch every epoch."""

    def __init__(self, data: Data) -> None:
        self.data = copy.copy(data)
        self.data.n_id = torch.arange(int(data.num_nodes))

    def batches(self, epoch: int) -> list[Data]:
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

    def batches(self, epoch: int) -> list[Data]:
        return induced_subgraphs(self.data, self.parts(epoch))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(num_parts={self.num_parts}, seed={self.seed})"


def _graph_digest(edge_index: Tensor, num_nodes: int) -> str:
    h = hashlib.sha1(str(num_nodes).encode())
    h.update(edge_index.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _pymetis_assignment(edge_index: Tensor, num_nodes: int, num_parts: int, recursive: bool):
    import pymetis
    from torch_geometric.utils import coalesce, remove_self_loops, to_undirected

    # METIS wants a symmetric adjacency without self-loops or duplicates.
    ei, _ = remove_self_loops(edge_index)
    ei = coalesce(to_undirected(ei, num_nodes=num_nodes), num_nodes=num_nodes)
    xadj = torch.zeros(num_nodes + 1, dtype=torch.long)
    xadj[1:] = torch.bincount(ei[0], minlength=num_nodes).cumsum(0)
    xadj, adjncy = xadj.numpy(), ei[1].numpy()
    if hasattr(pymetis, "CSRAdjacency"):  # pymetis >= 2025.2; xadj= is deprecated there
        adjacency = pymetis.CSRAdjacency(adj_starts=xadj, adjacent=adjncy)
        result = pymetis.part_graph(num_parts, adjacency, recursive=recursive)
    else:
        result = pymetis.part_graph(num_parts, xadj=xadj, adjncy=adjncy, recursive=recursive)
    return torch.as_tensor(np.asarray(result[1]), dtype=torch.long)


def metis_assignment(
    edge_index: Tensor,
    num_nodes: int,
    num_parts: int,
    *,
    recursive: bool = False,
    cache_dir: str | None = None,
    fallback: Callable[[], Tensor] | None = None,
) -> Tensor:
    """METIS cluster id of every node, :math:`(N,)` with values in ``[0, num_parts)``.

    Computed with pymetis; without pymetis ``fallback()`` (PyG's pyg-lib / torch-sparse
    path) is used. With ``cache_dir`` the result is cached there under a name made of
    ``num_parts`` and a digest of the graph, and read back with ``weights_only=True``.
    """
    if not 1 <= num_parts <= num_nodes:
        raise ValueError(f"num_parts={num_parts} must lie in [1, num_nodes={num_nodes}]")
    path = None
    if cache_dir is not None:
        tag = "_recursive" if recursive else ""
        name = f"metis_{num_parts}{tag}_{_graph_digest(edge_index, num_nodes)}.pt"
        path = osp.join(cache_dir, name)
        if osp.exists(path):
            return torch.load(path, weights_only=True)
    if num_parts == 1:
        cluster = torch.zeros(num_nodes, dtype=torch.long)
    else:
        try:
            cluster = _pymetis_assignment(edge_index, num_nodes, num_parts, recursive)
        except ImportError:
            if fallback is None:
                raise ImportError(
                    "METIS partitioning needs pymetis (pip install pymetis), or pyg-lib / "
                    "torch-sparse through PyG's ClusterData"
                ) from None
            cluster = fallback()
    if path is not None:
        os.makedirs(cache_dir, exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        torch.save(cluster, tmp)
        os.replace(tmp, path)
    return cluster


class MetisClusterData(ClusterData):
    """PyG's :class:`~torch_geometric.loader.ClusterData` with METIS run by pymetis.

    Without pymetis it uses PyG's own METIS (pyg-lib or torch-sparse). The assignment is
    cached in ``save_dir`` (a tensor file, loaded with ``weights_only=True``), keyed by the
    graph; the partition itself is rebuilt from it, which is fast. Batches carry ``n_id``.

    Args:
        data (Data): The graph.
        num_parts (int): Number of clusters.
        recursive (bool): Recursive bisection instead of k-way. (default: ``False``)
        save_dir (str, optional): Cache folder. (default: ``None``)
    """

    def __init__(
        self, data: Data, num_parts: int, recursive: bool = False, save_dir: str | None = None
    ) -> None:
        self._cache_dir = save_dir
        data = copy.copy(data)
        data.n_id = torch.arange(int(data.num_nodes))
        super().__init__(data, num_parts, recursive=recursive, save_dir=None, log=False)

    def _metis(self, edge_index: Tensor, num_nodes: int) -> Tensor:
        return metis_assignment(
            edge_index,
            num_nodes,
            self.num_parts,
            recursive=self.recursive,
            cache_dir=self._cache_dir,
            fallback=lambda: super(MetisClusterData, self)._metis(edge_index, num_nodes),
        )


class MetisPartition(Partitioner):
    """METIS clusters, ``clusters_per_batch`` of them merged per batch (Cluster-GCN).

    The clusters are computed once; which clusters form a batch is shuffled every epoch,
    deterministically in ``(seed, epoch)``. Edges between the clusters of one batch are
    kept.

    Args:
        data (Data): The graph.
        num_parts (int): Number of METIS clusters.
        clusters_per_batch (int): Clusters merged into one batch. (default: ``1``)
        seed (int): Seed of the per-epoch shuffle.
        cache_dir (str, optional): Where to cache the METIS assignment.
    """

    def __init__(
        self,
        data: Data,
        num_parts: int,
        clusters_per_batch: int = 1,
        seed: int = 0,
        cache_dir: str | None = None,
    ) -> None:
        self.cluster_data = MetisClusterData(data, num_parts, save_dir=cache_dir)
        self.num_parts, self.clusters_per_batch, self.seed = (
            num_parts,
            clusters_per_batch,
            seed,
        )

    def batches(self, epoch: int) -> list[Data]:
        loader = ClusterLoader(
            self.cluster_data,
            batch_size=self.clusters_per_batch,
            shuffle=True,
            generator=_generator(self.seed, epoch),
        )
        return list(loader)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(num_parts={self.num_parts}, "
            f"clusters_per_batch={self.clusters_per_batch}, seed={self.seed})"
        )


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
        return MetisPartition(data, num_parts, seed=seed, cache_dir=cache_dir)
    raise ValueError(f"scheme={scheme!r} must be 'full', 'random' or 'metis'")


def shard_batches(batches: list[Data], rank: int, world_size: int) -> list[Data]:
    """The share of rank ``rank`` of one epoch's batches: ``rank, rank + P, rank + 2P, ...``.

    Every rank must take the same number of optimiser steps (each step is one gradient
    all-reduce), so the number of batches must be a multiple of ``world_size`` :math:`P`.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank={rank} must lie in [0, world_size={world_size})")
    if len(batches) % world_size != 0:
        raise ValueError(
            f"{len(batches)} batches per epoch cannot be shared equally by world_size="
            f"{world_size} processes: make the number of parts (num_parts / --parts) a "
            "multiple of the number of processes"
        )
    return batches[rank::world_size]


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
