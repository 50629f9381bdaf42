import pytest
import torch
from torch_geometric.data import Data

from revgnn.datasets import NodeDataset, random_split


def test_random_split_is_seeded_disjoint_and_sized():
    split = random_split(100, 0.6, 0.2, seed=1)
    assert [split[k].numel() for k in ("train", "valid", "test")] == [60, 20, 20]
    everything = torch.cat(list(split.values())).sort().values
    assert torch.equal(everything, torch.arange(100))
    assert torch.equal(random_split(100, 0.6, 0.2, seed=1)["test"], split["test"])
    with pytest.raises(ValueError, match=r"train=0\.9 and valid=0\.2 must be positive"):
        random_split(100, 0.9, 0.2)


def test_sizes_and_description():
    data = Data(x=torch.ones(4, 3), edge_index=torch.tensor([[0, 1], [1, 2]]), y=torch.zeros(4))
    idx = torch.tensor([0])
    split = {"train": idx, "valid": idx, "test": idx}
    ds = NodeDataset("tiny", data, split, 2, "multiclass", "acc")
    assert (ds.num_nodes, ds.num_edges, ds.num_features, ds.edge_dim) == (4, 2, 3, None)
    assert ds.describe().startswith("tiny: 4 nodes, 2 edges, 3 features, 2 classes")
    with pytest.raises(ValueError, match="tiny: task='regression' must be one of"):
        NodeDataset("tiny", data, {}, 2, "regression", "acc")


def test_a_graph_without_features_gets_its_log_degree_noted():
    data = Data(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=4)
    idx = torch.tensor([0])
    ds = NodeDataset("bare", data, {"train": idx, "valid": idx, "test": idx}, 2, "multiclass",
                     "acc", notes="relabelled")  # fmt: skip
    expected = torch.log1p(torch.tensor([1.0, 2.0, 1.0, 0.0])).view(-1, 1)
    assert ds.num_features == 1 and torch.allclose(ds.data.x, expected)
    assert ds.describe().endswith("x = log(1 + degree); relabelled")
    # Its degrees are counted before validation: an edge outside the graph is named first.
    data = Data(edge_index=torch.tensor([[0, 4], [4, 0]]), num_nodes=4)
    with pytest.raises(ValueError, match=r"bare: edge_index refers to node 4, outside \[0, 4\)"):
        NodeDataset("bare", data, {"train": idx, "valid": idx, "test": idx}, 2, "multiclass",
                    "acc")  # fmt: skip


def test_preprocessed_is_a_copy_with_the_step_noted_sharing_what_it_keeps():
    data = Data(x=torch.ones(3, 2), edge_index=torch.tensor([[0], [1]]), y=torch.zeros(3))
    idx = torch.tensor([0])
    ds = NodeDataset("tiny", data, {"train": idx, "valid": idx, "test": idx}, 2, "multiclass",
                     "acc")  # fmt: skip
    once = ds.preprocessed("step one", x=torch.zeros(3, 5))
    twice = once.preprocessed("step two", edge_attr=torch.ones(1, 4))
    assert once.num_features == 5 and ds.num_features == 2 and ds.notes == ""
    assert once.notes == "step one" and twice.notes == "step one; step two"
    assert twice.edge_dim == 4 and once.edge_dim is None and ds.edge_dim is None
    # What a step does not replace is the same tensor, not a copy of it.
    assert once.data.edge_index is data.edge_index and twice.data.y is data.y
    assert twice.data.x is once.data.x and torch.equal(ds.data.x, torch.ones(3, 2))
