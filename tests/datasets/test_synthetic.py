import numpy as np
import pytest
import torch

from revgnn.datasets import load_dataset, synthetic_dataset

KINDS = ("proteins", "arxiv", "products")


def test_synthetic_graphs_have_requested_size_and_degree():
    for kind in KINDS:
        ds = synthetic_dataset(kind, num_nodes=2000, avg_degree=10.0, seed=2)
        assert ds.num_nodes == 2000
        # Self-loops are dropped and arxiv's duplicates merged, so slightly fewer.
        assert 9.0 <= ds.num_edges / ds.num_nodes <= 10.0
        again = synthetic_dataset(kind, num_nodes=2000, avg_degree=10.0, seed=2)
        assert torch.equal(ds.data.edge_index, again.data.edge_index)
    with pytest.raises(ValueError, match="kind='mag' must be one of"):
        synthetic_dataset("mag")


def test_registered_under_synthetic_names():
    ds = load_dataset("synthetic-proteins", num_nodes=100, avg_degree=4.0, split_seed=3)
    assert ds.num_nodes == 100 and ds.edge_dim == 8 and ds.metric == "rocauc"
    assert "seed=3" in ds.split_info


def test_exact_edge_count_without_loops_or_repeated_pairs():
    from revgnn.datasets.synthetic import synthetic_raw

    for kind in KINDS:
        raw = synthetic_raw(kind, 3000, 1.0, seed=4, num_raw_edges=30_000)
        src, dst = raw["edge"]
        assert src.size == 30_000 and not (src == dst).any()
        pairs = np.minimum(src, dst) * 3000 + np.maximum(src, dst)
        assert np.unique(pairs).size == 30_000
        if kind != "arxiv":  # stored once, smaller id first, as OGB stores them
            assert (src < dst).all()
        else:  # directed: both orientations occur
            assert 0.4 < (src < dst).mean() < 0.6


def test_degrees_are_heavy_tailed_and_communities_planted():
    from revgnn.datasets.synthetic import DEGREE_SIGMA, synthetic_raw

    raw = synthetic_raw("products", 20_000, 20.0, seed=1)
    deg = np.bincount(raw["edge"].ravel(), minlength=20_000)
    assert deg.mean() == pytest.approx(20.0, rel=0.01)
    # A uniform endpoint draw gives a Poisson tail (max/mean about 2); log-normal weights
    # with sigma 1.2 give a max in the tens of means.
    assert DEGREE_SIGMA["products"] == 1.2 and deg.max() > 15 * deg.mean()
    assert np.median(deg) < 0.8 * deg.mean()
    label = raw["node_label"].ravel()
    same = (label[raw["edge"][0]] == label[raw["edge"][1]]).mean()
    assert 0.75 < same < 0.85  # 0.8 inside a community, plus chance


def test_full_sizes_are_the_real_graphs():
    from revgnn.datasets.synthetic import OGB_SIZES

    assert OGB_SIZES == {
        "proteins": (132_534, 39_561_252),
        "arxiv": (169_343, 1_166_243),
        "products": (2_449_029, 61_859_140),
    }
