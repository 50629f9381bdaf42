import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.point_clouds import (
    PointClouds,
    find_folder,
    hold_out,
    read_h5,
    selection_split,
    stack_clouds,
)


def make(**kw):
    args = {
        "name": "t",
        "x": torch.randn(4, 5, 3),
        "y": torch.tensor([0, 1, 0, 1]),
        "split": {k: torch.tensor([i]) for i, k in enumerate(["train", "valid", "test"])},
        "num_classes": 2,
        "task": "classification",
        "metric": "acc",
    }
    args.update(kw)
    return PointClouds(**args)


def test_validation_names_each_problem():
    with pytest.raises(ValueError, match="labels must have shape"):
        make(y=torch.zeros(4, 5))
    with pytest.raises(ValueError, match=r"outside \[0, num_classes=2\)"):
        make(y=torch.tensor([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        make(x=torch.full((4, 5, 3), float("nan")))
    with pytest.raises(ValueError, match=r"split\['test'\] is missing or empty"):
        make(split={"train": torch.tensor([0]), "valid": torch.tensor([1])})
    with pytest.raises(ValueError, match="clouds need xyz"):
        make(x=torch.randn(4, 5, 2))
    assert "4 clouds x 5 points x 3 channels" in make().describe()


def test_stack_clouds_keeps_samples_and_repeats():
    clouds = [torch.arange(12.0).view(4, 3), torch.arange(6.0).view(2, 3), torch.ones(3, 3)]
    labels = [torch.arange(4), torch.arange(2), torch.zeros(3, dtype=torch.long)]
    x, y = stack_clouds(clouds, labels, 3, seed=0)
    assert x.shape == (3, 3, 3)
    assert torch.equal(x[2], clouds[2])  # the right size: unchanged
    assert len(set(x[0, :, 0].tolist())) == 3  # sampled without replacement
    assert torch.equal(x[1, :, 0], clouds[1][y[1], 0])  # labels follow their points


def test_hold_out_is_disjoint_and_seeded():
    train, valid = hold_out(torch.arange(20), 0.1, seed=3)
    assert len(valid) == 2 and not set(train.tolist()) & set(valid.tolist())
    assert torch.equal(hold_out(torch.arange(20), 0.1, seed=3)[1], valid)


def test_registry_errors():
    with pytest.raises(ValueError, match="is not one of"):
        load_dataset("kitti")
    with pytest.raises(ValueError, match=r"needs root= \(--root\)"):
        load_dataset("s3dis")


def test_selection_split_holds_out_clouds_or_whole_groups_or_selects_on_test():
    train, test = torch.tensor([0, 1, 2, 3, 4, 5, 7, 8]), torch.tensor([6, 9])
    split, info = selection_split(train, test, 0.25, seed=0)
    assert len(split["valid"]) == 2 and "25% of the training clouds" in info
    assert sorted(split["train"].tolist() + split["valid"].tolist()) == train.tolist()
    groups = ["a", "a", "b", "b", "c", "c", "d", "d"]
    split, info = selection_split(train, test, 0.25, seed=0, groups=groups)
    held = {groups[train.tolist().index(i)] for i in split["valid"].tolist()}
    kept = {groups[train.tolist().index(i)] for i in split["train"].tolist()}
    assert len(held) == 1 and not held & kept and "1 of 4 training rooms" in info
    split, info = selection_split(train, test, 0.0, seed=0)
    assert split["valid"] is test and torch.equal(split["train"], train) and "test" in info
    with pytest.raises(ValueError, match="3 group names for 8 training clouds"):
        selection_split(train, test, 0.25, seed=0, groups=["a", "b", "c"])


def test_find_folder_takes_the_first_layout_and_names_every_place(tmp_path):
    (tmp_path / "B" / "raw").mkdir(parents=True)
    (tmp_path / "B" / "raw" / "x.txt").write_text("")
    assert find_folder(str(tmp_path), ["A/raw", "B/raw"], "x.txt", "X").endswith("B/raw")
    with pytest.raises(FileNotFoundError, match=r"X: none of .*A/raw/y\.txt, .*B/raw/y\.txt"):
        find_folder(str(tmp_path), ["A/raw", "B/raw"], "y.txt", "X")


def test_categories_come_with_their_parts_and_fit_them():
    with pytest.raises(ValueError, match="categories and category_parts go together"):
        make(categories=torch.zeros(4))
    with pytest.raises(ValueError, match=r"categories must hold one of 0\.\.0 per cloud"):
        make(categories=torch.tensor([0, 0, 1, 0]), category_parts=[[0, 1]])


def test_read_h5_names_the_keys_the_file_has(tmp_path):
    import h5py
    import numpy as np

    path = tmp_path / "a.h5"
    with h5py.File(path, "w") as f:
        f["data"] = np.zeros((2, 3, 3), dtype=np.float64)
        f["label"] = np.ones((2, 1), dtype=np.uint8)
    x, y = read_h5(str(path), "data", "label", "X")
    assert x.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [[1], [1]]
    with pytest.raises(ValueError, match=r"has no 'label_seg' dataset \(keys: \['data', 'label'\]"):
        read_h5(str(path), "data", "label_seg", "X")
