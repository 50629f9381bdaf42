import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.positional_features import (
    HOPS,
    PROJECTIONS,
    random_walk_projections,
    with_positional,
)


def _dense_propagation(edge_index, n):
    a = torch.eye(n)
    a[edge_index[1], edge_index[0]] = 1.0
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


def test_the_columns_are_standardised_powers_of_the_propagation_of_a_seeded_projection():
    edge_index = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4, 0, 5], [1, 0, 2, 1, 3, 2, 4, 3, 5, 0]])
    x = random_walk_projections(edge_index, 6, hops=(1, 3), projections=4, seed=7)
    assert x.shape == (6, 8)
    r = torch.randn(6, 4, generator=torch.Generator().manual_seed(7))
    p = _dense_propagation(edge_index, 6)
    for block, k in enumerate((1, 3)):
        h = torch.linalg.matrix_power(p, k) @ r
        expected = (h - h.mean(0)) / h.std(0)
        assert torch.allclose(x[:, 4 * block : 4 * block + 4], expected, atol=1e-5)
    assert torch.allclose(x.mean(0), torch.zeros(8), atol=1e-6)
    assert torch.allclose(x.std(0), torch.ones(8), atol=1e-5)


def test_nodes_that_reach_the_same_nodes_get_the_same_row():
    # Two disjoint triangles: within one, every node's propagation is the triangle's mean.
    tri = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]
    edge_index = torch.tensor(tri + [(b, a) for a, b in tri]).t()
    x = random_walk_projections(edge_index, 6, hops=(1, 2), projections=16)
    assert torch.allclose(x[0], x[1], atol=1e-6) and torch.allclose(x[3], x[5], atol=1e-6)
    assert not torch.allclose(x[0], x[3], atol=1e-2)


def test_the_seed_fixes_the_columns():
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    a = random_walk_projections(edge_index, 3, seed=1)
    assert torch.equal(a, random_walk_projections(edge_index, 3, seed=1))
    assert not torch.equal(a, random_walk_projections(edge_index, 3, seed=2))
    assert a.shape == (3, PROJECTIONS * len(HOPS))


def test_bad_settings_are_refused_with_their_name():
    edge_index = torch.tensor([[0], [1]])
    with pytest.raises(ValueError, match=r"hops=\(0, 2\) must be one or more powers"):
        random_walk_projections(edge_index, 2, hops=(0, 2))
    with pytest.raises(ValueError, match="projections=0 must be at least 1"):
        random_walk_projections(edge_index, 2, projections=0)


def test_with_positional_appends_to_the_features_and_notes_it(root):
    ds = load_dataset("deezer-hu", root)
    out = with_positional(ds, seed=3)
    assert out.num_features == ds.num_features + PROJECTIONS * len(HOPS)
    assert torch.equal(out.data.x[:, : ds.num_features], ds.data.x.float())
    expected = random_walk_projections(ds.data.edge_index, ds.num_nodes, seed=3)
    assert torch.equal(out.data.x[:, ds.num_features :], expected)
    assert "384 positional columns" in out.describe() and ds.num_features == 1
    assert out.data.edge_index is ds.data.edge_index and out.data.y is ds.data.y  # not copied
