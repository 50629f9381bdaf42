import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.point_clouds import PointClouds, hold_out, stack_clouds


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
