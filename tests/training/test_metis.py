import os

import numpy as np
import pytest
import torch
from torch_geometric.utils import coalesce, remove_self_loops, subgraph, to_undirected

from revgnn.datasets import load_cora
from revgnn.training.metis import MetisClusterData, MetisPartition, metis_assignment, metis_csr
from revgnn.training.partition import (
    RandomPartition,
)


@pytest.fixture(scope="module")
def cora():
    return load_cora()


def covers_once(batches, n):
    ids = torch.cat([b.n_id for b in batches])
    return ids.numel() == n and torch.equal(ids.sort().values, torch.arange(n))


def test_metis_covers_every_node_exactly_once(cora, tmp_path):
    n = cora.num_nodes
    part = MetisPartition(cora.data, 8, cache_dir=str(tmp_path))
    batches = part.batches(1)
    assert len(batches) == 8
    assert covers_once(batches, n)
    # Every batch is the subgraph its nodes induce, with the right features and labels.
    for b in batches:
        assert torch.equal(b.x, cora.data.x[b.n_id])
        assert torch.equal(b.y, cora.data.y[b.n_id])
        ei, _ = subgraph(b.n_id, cora.data.edge_index, relabel_nodes=True, num_nodes=n)
        assert ei.size(1) == b.edge_index.size(1)
    # METIS keeps most edges inside the clusters, unlike a random partition.
    kept_metis = sum(b.edge_index.size(1) for b in batches)
    kept_random = sum(b.edge_index.size(1) for b in RandomPartition(cora.data, 8).batches(1))
    assert kept_metis > 2 * kept_random


def test_metis_assignment_is_cached_and_reused(cora, tmp_path):
    a = metis_assignment(cora.data.edge_index, cora.num_nodes, 6, cache_dir=str(tmp_path))
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("metis_6_")
    assert a.shape == (cora.num_nodes,) and set(a.unique().tolist()) == set(range(6))
    # A doctored cache file is what comes back: proof that the cache is read.
    torch.save(torch.zeros_like(a), tmp_path / files[0])
    b = metis_assignment(cora.data.edge_index, cora.num_nodes, 6, cache_dir=str(tmp_path))
    assert int(b.max()) == 0
    # Another graph gets its own cache entry.
    metis_assignment(cora.data.edge_index[:, :5000], cora.num_nodes, 6, cache_dir=str(tmp_path))
    assert len(os.listdir(tmp_path)) == 2


def test_metis_cluster_data_is_pyg_cluster_data(cora):
    from torch_geometric.loader import ClusterData, ClusterLoader

    cd = MetisClusterData(cora.data, 4)
    assert isinstance(cd, ClusterData) and len(cd) == 4
    loader = ClusterLoader(cd, batch_size=2, shuffle=False)
    assert covers_once(list(loader), cora.num_nodes)


def test_metis_falls_back_to_pyg_without_pymetis(cora, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pymetis", None)  # makes `import pymetis` fail
    calls = []

    def fallback():
        calls.append(1)
        return torch.zeros(cora.num_nodes, dtype=torch.long)

    out = metis_assignment(cora.data.edge_index, cora.num_nodes, 4, fallback=fallback)
    assert calls == [1] and int(out.max()) == 0
    with pytest.raises(ImportError, match="needs pymetis"):
        metis_assignment(cora.data.edge_index, cora.num_nodes, 4)
    # Through ClusterData the fallback is PyG's own METIS (pyg-lib / torch-sparse).
    from torch_geometric import typing as pyg_typing

    if not (pyg_typing.WITH_METIS or pyg_typing.WITH_TORCH_SPARSE):
        with pytest.raises(ImportError, match="requires either 'pyg-lib' or 'torch-sparse'"):
            MetisClusterData(cora.data, 4)


def test_metis_csr_is_the_symmetric_graph_without_loops_or_repeats():
    g = torch.Generator().manual_seed(0)
    # Directed edges, repeats and self-loops, and isolated nodes at both ends.
    ei = torch.randint(2, 48, (2, 400), generator=g)
    ei[:, :5] = torch.tensor([[3, 3, 7, 9, 7], [3, 8, 7, 9, 8]])
    xadj, adjncy = metis_csr(ei, 50)
    ref, _ = remove_self_loops(ei)
    ref = coalesce(to_undirected(ref, num_nodes=50), num_nodes=50)
    ref_xadj = torch.zeros(51, dtype=torch.long)
    ref_xadj[1:] = torch.bincount(ref[0], minlength=50).cumsum(0)
    assert xadj.dtype == adjncy.dtype == np.int64
    assert np.array_equal(xadj, ref_xadj.numpy()) and np.array_equal(adjncy, ref[1].numpy())


def test_metis_batches_merge_clusters_reshuffled_per_epoch(cora, tmp_path):
    n = cora.num_nodes
    part = MetisPartition(cora.data, 8, clusters_per_batch=2, seed=3, cache_dir=str(tmp_path))
    one = part.parts(1)
    assert len(one) == 4 and covers_once([type("B", (), {"n_id": p}) for p in one], n)
    # Each batch is two whole clusters, and the edges between them are kept.
    for nodes in one:
        assert sum(int(torch.isin(c, nodes).all()) for c in part.clusters) == 2
    batches = part.batches(1)
    for b in batches:
        ei, _ = subgraph(b.n_id, cora.data.edge_index, relabel_nodes=True, num_nodes=n)
        assert torch.equal(b.edge_index, ei)
    # Deterministic in (seed, epoch); another epoch merges other clusters.
    again = MetisPartition(cora.data, 8, clusters_per_batch=2, seed=3, cache_dir=str(tmp_path))
    assert all(torch.equal(a, b) for a, b in zip(one, again.parts(1)))
    assert any(not any(torch.equal(a, b) for b in one) for e in range(2, 5) for a in part.parts(e))
    with pytest.raises(ValueError, match=r"clusters_per_batch=9 must lie in \[1, num_parts=8\]"):
        MetisPartition(cora.data, 8, clusters_per_batch=9)
