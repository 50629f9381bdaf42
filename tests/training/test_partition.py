import os

import pytest
import torch
from torch_geometric.utils import subgraph

from revgnn.datasets import load_cora, synthetic_dataset
from revgnn.training.metis import MetisClusterData, MetisPartition, metis_assignment
from revgnn.training.partition import (
    FullBatch,
    RandomPartition,
    induced_subgraphs,
    make_partitioner,
    multiview_predict,
    random_parts,
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


def test_random_partitions_change_between_epochs_and_repeat_per_seed(cora):
    n = cora.num_nodes
    p = RandomPartition(cora.data, 5, seed=3)
    e1, e2 = p.batches(1), p.batches(2)
    assert covers_once(e1, n) and covers_once(e2, n)
    assert [b.num_nodes for b in e1] == [542, 542, 542, 541, 541]
    assert not torch.equal(e1[0].n_id, e2[0].n_id)
    again = RandomPartition(cora.data, 5, seed=3).batches(1)
    assert all(torch.equal(a.n_id, b.n_id) for a, b in zip(e1, again))
    other = RandomPartition(cora.data, 5, seed=4).batches(1)
    assert not torch.equal(e1[0].n_id, other[0].n_id)
    # The draw does not use (or disturb) the global generator.
    torch.manual_seed(0)
    before = torch.get_rng_state()
    random_parts(n, 5, seed=3, epoch=1)
    assert torch.equal(before, torch.get_rng_state())


def test_induced_subgraphs_match_pyg_subgraph():
    ds = synthetic_dataset("proteins", 200, 8.0)
    parts = random_parts(ds.num_nodes, 3, seed=0)
    for part, sub in zip(parts, induced_subgraphs(ds.data, parts)):
        ei, ea = subgraph(part, ds.data.edge_index, ds.data.edge_attr, relabel_nodes=True)
        order_a = (ei[0] * 1000 + ei[1]).argsort(stable=True)
        order_b = (sub.edge_index[0] * 1000 + sub.edge_index[1]).argsort(stable=True)
        assert torch.equal(ei[:, order_a], sub.edge_index[:, order_b])
        assert torch.equal(ea[order_a], sub.edge_attr[order_b])


def test_multiview_predict_averages_fixed_views():
    ds = synthetic_dataset("arxiv", 150, 6.0)
    calls = []

    def forward(batch):
        calls.append(batch.n_id.clone())
        # Output depends on the batch's size, so views can be told apart.
        return torch.full((batch.num_nodes, 2), float(batch.edge_index.size(1)))

    out = multiview_predict(forward, ds.data, num_parts=3, num_views=2, seed=1)
    assert len(calls) == 6
    expect = torch.zeros(ds.num_nodes, 2)
    for view in range(2):
        for sub in induced_subgraphs(ds.data, random_parts(ds.num_nodes, 3, 1, view)):
            expect[sub.n_id] += sub.edge_index.size(1)
    torch.testing.assert_close(out, expect / 2)
    calls.clear()
    again = multiview_predict(forward, ds.data, num_parts=3, num_views=2, seed=1)
    torch.testing.assert_close(out, again)
    full = multiview_predict(forward, ds.data, num_parts=1, num_views=4)
    assert len(calls) == 7 and torch.all(full == ds.num_edges)


def test_full_batch_and_errors(cora):
    (b,) = FullBatch(cora.data).batches(7)
    assert torch.equal(b.n_id, torch.arange(cora.num_nodes)) and b.x is cora.data.x
    with pytest.raises(ValueError, match="partition='kmeans' must be one of full, random, metis"):
        make_partitioner(cora.data, "kmeans")
    with pytest.raises(ValueError, match=r"num_parts=0 must lie in \[1, num_nodes=2708\]"):
        random_parts(cora.num_nodes, 0, seed=0)
    with pytest.raises(ValueError, match="num_views=0 must be at least 1"):
        multiview_predict(lambda b: b.x, cora.data, 2, 0)


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
