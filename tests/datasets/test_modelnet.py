import os

import pytest
import torch

from revgnn.datasets import load_dataset
from tests.datasets.point_fakes import MODELNET10, write_modelnet


def test_loads_the_pyg_layout_samples_points_and_holds_out_valid_from_train(tmp_path):
    write_modelnet(tmp_path / "modelnet10")
    ds = load_dataset("modelnet10", str(tmp_path), num_points=32, split_seed=1)
    assert ds.x.shape == (40, 32, 3) and ds.num_classes == 10 and ds.class_names == MODELNET10
    assert len(ds.split["test"]) == 10 and len(ds.split["valid"]) == 3
    assert not set(ds.split["valid"].tolist()) & set(ds.split["test"].tolist())
    assert float(ds.x.norm(dim=-1).max()) <= 1.0 + 1e-5  # scaled into the unit sphere
    assert ds.augment and ds.task == "classification"
    again = load_dataset("modelnet10", str(tmp_path), num_points=32, split_seed=1)
    assert torch.equal(again.x, ds.x)  # the sampling is seeded


def test_missing_raw_files_are_an_error_not_a_download(tmp_path):
    os.makedirs(tmp_path / "modelnet40" / "raw" / "bed")
    with pytest.raises(FileNotFoundError, match=r"lacks bathtub.*pass --download"):
        load_dataset("modelnet40", str(tmp_path))


def test_a_modelnet40_folder_holding_modelnet10_is_refused(tmp_path):
    # PyG checks ModelNet40's folder for the ModelNet10 classes only.
    write_modelnet(tmp_path / "modelnet40")
    with pytest.raises(ValueError, match=r"holds 10 class folders, not 40: an incomplete"):
        load_dataset("modelnet40", str(tmp_path), num_points=32)
