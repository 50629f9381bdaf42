import math
import warnings

import pytest
import torch
from torch_geometric.data import Data

from revgnn.datasets import NodeDataset, synthetic_dataset, validate


def tiny(task: str = "multiclass") -> NodeDataset:
    g = torch.Generator().manual_seed(0)
    n, e = 12, 30
    data = Data(
        x=torch.rand(n, 4, generator=g),
        edge_index=torch.randint(0, n, (2, e), generator=g),
        edge_attr=torch.rand(e, 3, generator=g),
        y=torch.randint(0, 3, (n,), generator=g)
        if task == "multiclass"
        else torch.randint(0, 2, (n, 5), generator=g).float(),
    )
    split = {"train": torch.arange(0, 6), "valid": torch.arange(6, 9), "test": torch.arange(9, 12)}
    metric = "acc" if task == "multiclass" else "rocauc"
    return NodeDataset("tiny", data, split, 3 if task == "multiclass" else 5, task, metric)


def test_valid_datasets_pass():
    for task in ("multiclass", "multilabel"):
        ds = tiny(task)
        assert validate(ds) is ds
    validate(synthetic_dataset("proteins", 100, 5.0))


def test_edge_index_out_of_range():
    ds = tiny()
    ds.data.edge_index[1, 7] = 12
    with pytest.raises(ValueError, match=r"tiny: edge_index refers to node 12, outside \[0, 12\)"):
        validate(ds)
    ds.data.edge_index[1, 7] = -1
    with pytest.raises(ValueError, match="tiny: edge_index refers to node -1"):
        validate(ds)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_features(bad):
    ds = tiny()
    ds.data.x[5, 2] = bad
    with pytest.raises(
        ValueError, match=r"tiny: node features x contain 1 NaN/inf values \(first in row 5\)"
    ):
        validate(ds)
    ds = tiny()
    ds.data.edge_attr[3, 0] = bad
    with pytest.raises(ValueError, match="tiny: edge features edge_attr contain 1 NaN/inf"):
        validate(ds)


def test_edge_attr_length_mismatch():
    ds = tiny()
    ds.data.edge_attr = ds.data.edge_attr[:-2]
    with pytest.raises(ValueError, match="tiny: edge_attr has 28 rows but edge_index has 30 edges"):
        validate(ds)


@pytest.mark.parametrize("part", ["train", "valid", "test"])
def test_empty_split(part):
    ds = tiny()
    ds.split[part] = torch.empty(0, dtype=torch.long)
    with pytest.raises(ValueError, match=f"tiny: the '{part}' split is empty"):
        validate(ds)


def test_labels_outside_class_range():
    ds = tiny()
    ds.data.y[4] = 3
    with pytest.raises(ValueError, match=r"tiny: label 3 lies outside the class range \[0, 3\)"):
        validate(ds)
    ds = tiny()
    ds.data.y[0] = -1
    with pytest.raises(ValueError, match="tiny: label -1 lies outside the class range"):
        validate(ds)
    ds = tiny("multilabel")
    ds.data.y[2, 1] = 2.0
    with pytest.raises(ValueError, match=r"tiny: multilabel targets must be 0 or 1; found 2\.0"):
        validate(ds)


def test_unknown_task_and_metric():
    ds = tiny()
    with pytest.raises(ValueError, match="tiny: task='regression' must be one of"):
        NodeDataset("tiny", ds.data, ds.split, 3, "regression", "acc")
    with pytest.raises(ValueError, match="tiny: metric='f1' must be one of"):
        NodeDataset("tiny", ds.data, ds.split, 3, "multiclass", "f1")


def test_split_parts_that_share_nodes_are_named_in_a_warning():
    ds = tiny()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate(ds)  # disjoint parts: no warning
    ds.split["test"] = torch.tensor([0, 1, 9])
    ds.split["valid"] = torch.tensor([6, 9])
    with pytest.warns(UserWarning, match="split share") as record:
        validate(ds)
    assert [str(w.message) for w in record] == [
        "tiny: the 'train' and the 'test' split share 2 nodes, so the 'test' scores are not "
        "of held-out nodes; check the masks or indices",
        "tiny: the 'valid' and the 'test' split share 1 node, so the 'test' scores are not of "
        "held-out nodes; check the masks or indices",
    ]


def test_an_edge_list_stored_as_rows_is_refused_with_the_transpose():
    ds = tiny()
    ds.data.edge_index = ds.data.edge_index.t()
    with pytest.raises(
        ValueError,
        match=r"tiny: edge_index must have shape \(2, E\), got \(30, 2\) \(transpose it: "
        r"edge_index.t\(\)\)$",
    ):
        validate(ds)
