r"""METIS clusters (Cluster-GCN; Chiang et al., KDD 2019) as mini-batches.

PyG's ``ClusterData`` needs pyg-lib or torch-sparse for its METIS call; here METIS runs through
pymetis (wheels on PyPI), and PyG's own path is the fallback when pymetis is missing. The
assignment is cached on disk, keyed by the graph.
"""

from __future__ import annotations

import copy
import hashlib
import os
import os.path as osp
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import ClusterData, ClusterLoader

from revgnn.training.partition import Partitioner, epoch_generator

__all__ = ["MetisClusterData", "MetisPartition", "metis_assignment"]


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
            generator=epoch_generator(self.seed, epoch),
        )
        return list(loader)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(num_parts={self.num_parts}, "
            f"clusters_per_batch={self.clusters_per_batch}, seed={self.seed})"
        )
