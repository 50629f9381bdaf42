r"""METIS clusters (Cluster-GCN; Chiang et al., KDD 2019) as mini-batches.

PyG's ``ClusterData`` needs pyg-lib or torch-sparse for its METIS call; here METIS runs through
pymetis (wheels on PyPI), and PyG's own path is the fallback when pymetis is missing. The
assignment is cached on disk, keyed by the graph. :class:`MetisPartition` (the ``metis``
scheme of training) builds METIS's input and its batches at a few int64 per edge, so it
partitions ogbn-products (124 million stored edges) on a 24 GB machine;
:class:`MetisClusterData` is PyG's ``ClusterData`` for code written against it.
"""

from __future__ import annotations

import copy
import hashlib
import os
import os.path as osp
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import ClusterData

from revgnn.training.partition import Partitioner, epoch_generator, induced_subgraphs
from revgnn.utils.sparse import symmetric_keys

__all__ = ["MetisClusterData", "MetisPartition", "metis_assignment", "metis_csr"]


def _graph_digest(edge_index: Tensor, num_nodes: int) -> str:
    h = hashlib.sha1(str(num_nodes).encode())
    h.update(edge_index.contiguous().numpy())  # the buffer itself: no bytes copy
    return h.hexdigest()[:16]


def metis_csr(edge_index: Tensor, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(xadj, adjncy)``: the CSR adjacency METIS wants (symmetric, without self-loops or
    repeated edges) of the graph ``edge_index``, as int64 arrays.

    Each edge and its reverse become one int64 key ``row * N + col``, sorted in place and
    deduplicated (:func:`~revgnn.utils.sparse.symmetric_keys`): a peak of 3 to 4 int64 a
    stored edge (3.2 GB for ogbn-products' 124 million), where ``to_undirected`` and
    ``coalesce`` take several times that.
    """
    keys = symmetric_keys(edge_index, num_nodes, self_loops=False)
    xadj = np.searchsorted(keys, np.arange(num_nodes + 1, dtype=np.int64) * num_nodes)
    np.remainder(keys, num_nodes, out=keys)
    return xadj, keys


def _pymetis_assignment(edge_index: Tensor, num_nodes: int, num_parts: int, recursive: bool):
    import pymetis

    xadj, adjncy = metis_csr(edge_index, num_nodes)
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

    The clusters are computed once (:func:`metis_assignment`, cached in ``cache_dir``);
    which clusters form a batch is shuffled every epoch, deterministically in
    ``(seed, epoch)``. A batch is the subgraph its clusters' nodes induce
    (:func:`~revgnn.training.partition.induced_subgraphs`, as for random parts), so edges
    between the clusters of one batch are kept, and nothing of the size of the graph is held
    beyond the graph itself (PyG's ``ClusterData`` keeps a permuted copy of it, and its
    partitioning ran ogbn-products out of 24 GB).

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
        if not 1 <= clusters_per_batch <= num_parts:
            raise ValueError(
                f"clusters_per_batch={clusters_per_batch} must lie in [1, num_parts={num_parts}]"
            )
        n = int(data.num_nodes)
        cluster = metis_assignment(
            data.edge_index,
            n,
            num_parts,
            cache_dir=cache_dir,
            fallback=lambda: _pyg_metis(data.edge_index, n, num_parts),
        )
        order = torch.sort(cluster, stable=True)
        counts = torch.bincount(order.values, minlength=num_parts).tolist()
        self.clusters = list(order.indices.split(counts))
        self.data, self.num_parts, self.clusters_per_batch, self.seed = (
            data,
            num_parts,
            clusters_per_batch,
            seed,
        )

    def parts(self, epoch: int) -> list[Tensor]:
        """The node ids (sorted) of each batch of ``epoch``."""
        perm = torch.randperm(self.num_parts, generator=epoch_generator(self.seed, epoch))
        return [
            torch.cat([self.clusters[c] for c in group.tolist()]).sort().values
            for group in perm.split(self.clusters_per_batch)
        ]

    def batches(self, epoch: int) -> Sequence[Data]:
        return induced_subgraphs(self.data, self.parts(epoch))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(num_parts={self.num_parts}, "
            f"clusters_per_batch={self.clusters_per_batch}, seed={self.seed})"
        )


def _pyg_metis(edge_index: Tensor, num_nodes: int, num_parts: int) -> Tensor:
    """PyG's own METIS call (pyg-lib or torch-sparse), as ``ClusterData`` makes it."""
    pyg = SimpleNamespace(sparse_format="csr", num_parts=num_parts, recursive=False)
    return ClusterData._metis(pyg, edge_index, num_nodes)  # type: ignore[arg-type]
