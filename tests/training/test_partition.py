import weakref

import pytest
import torch
from torch_geometric.utils import subgraph

from revgnn.datasets import load_cora, synthetic_dataset
from revgnn.training.partition import (
    FullBatch,
    RandomPartition,
    Subgraphs,
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


def test_subgraphs_are_built_when_read_and_not_kept():
    ds = synthetic_dataset("arxiv", 120, 5.0)
    parts = random_parts(ds.num_nodes, 4, seed=2)
    subs = induced_subgraphs(ds.data, parts)
    assert isinstance(subs, Subgraphs) and len(subs) == 4
    assert repr(subs) == "Subgraphs(4 of 4 parts of a 120-node graph)"
    first = subs[0]
    features = weakref.ref(first.x)
    again = subs[0]
    assert torch.equal(first.x, again.x) and first.x is not again.x
    del first
    assert features() is None, "a read batch's features outlived it"
    # Slices and negative indices select parts as a list's would, still unbuilt.
    tail = subs[1:]
    assert isinstance(tail, Subgraphs) and repr(tail).startswith("Subgraphs(3 of 4 parts")
    assert all(torch.equal(b.n_id, p) for b, p in zip(tail, parts[1:], strict=True))
    assert torch.equal(subs[-1].n_id, parts[3]) and torch.equal(subs[1::2][1].n_id, parts[3])
    assert len(subs[4:]) == 0 and [b.num_nodes for b in subs] == [30, 30, 30, 30]
    with pytest.raises(IndexError):
        subs[4]


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
