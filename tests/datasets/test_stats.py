import torch
from torch_geometric.data import Data

from revgnn.config import ModelConfig
from revgnn.config.adapt import SPARSE_FEATURES, adapt_model, feature_rule
from revgnn.config.model import DAMPED_TIME, DIFFUSION_TIME
from revgnn.datasets import load_dataset
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.stats import graph_stats


def test_stats_of_the_bundled_cora():
    stats = graph_stats(load_dataset("cora"))
    assert (stats.num_nodes, stats.num_edges, stats.num_features) == (2708, 10556, 1433)
    assert stats.binary_features and stats.nonnegative_features and stats.num_train == 140
    assert abs(stats.feature_density - 49216 / (2708 * 1433)) < 1e-9
    assert graph_stats(object()) is None


def _with_features(x, num_train=10):
    n = x.size(0)
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    data = Data(x=x, edge_index=torch.cat([ring, ring.flip(0)], 1), y=torch.arange(n) % 3)
    valid = num_train + 10
    split = {
        "train": torch.arange(num_train),
        "valid": torch.arange(num_train, valid),
        "test": torch.arange(valid, n),
    }
    return NodeDataset("g", data, split, 3, "multiclass", "acc")


def test_the_feature_rule_on_small_graphs_of_each_kind():
    g = torch.Generator().manual_seed(0)
    n = 60
    kinds = {
        "bag of words": ((torch.rand(n, 300, generator=g) < 0.01).float(), "row"),
        "dense binary attributes": ((torch.rand(n, 40, generator=g) < 0.35).float(), "standard"),
        "counts": (torch.poisson(torch.full((n, 8), 3.0), generator=g), "standard"),
        "signed measurements": (torch.randn(n, 5, generator=g), "standard"),
        "one structural column": (torch.rand(n, 1, generator=g), "standard"),
    }
    for kind, (x, rule) in kinds.items():
        stats = graph_stats(_with_features(x))
        assert feature_rule(stats) == rule, (kind, stats)
    # The same bag of words with more labelled nodes than columns keeps its scale.
    words = kinds["bag of words"][0][:, :40]
    stats = graph_stats(_with_features(words, num_train=40))
    assert stats.num_train == 40 and stats.feature_density < SPARSE_FEATURES
    assert feature_rule(stats) == "row_scaled"
    assert feature_rule(graph_stats(_with_features(words, num_train=39))) == "row"
    cora = graph_stats(load_dataset("cora"))
    assert cora.feature_density < SPARSE_FEATURES and feature_rule(cora) == "row"


def test_the_damped_time_of_a_graph_follows_its_split():
    x = (torch.rand(60, 40, generator=torch.Generator().manual_seed(0)) < 0.01).float()
    deep = ModelConfig(num_layers=64)
    few = graph_stats(_with_features(x, num_train=10))  # 1 node in 6 labelled
    many = graph_stats(_with_features(x, num_train=36))  # 60/20/20
    assert adapt_model(deep, few).damping == DAMPED_TIME / 64
    assert adapt_model(deep, many).damping == DIFFUSION_TIME / 64
    assert adapt_model(deep, graph_stats(load_dataset("cora"))).damping == DAMPED_TIME / 64
