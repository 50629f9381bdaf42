import os

import h5py
import numpy as np
import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.modelnet import read_modelnet_h5
from tests.datasets.point_fakes import MODELNET10, write_modelnet, write_modelnet_h5


def test_loads_the_pyg_layout_samples_points_and_holds_out_valid_from_train(tmp_path):
    write_modelnet(tmp_path / "modelnet10")
    ds = load_dataset("modelnet10", str(tmp_path), num_points=32, split_seed=1)
    assert ds.x.shape == (40, 32, 3) and ds.num_classes == 10 and ds.class_names == MODELNET10
    assert len(ds.split["test"]) == 10 and len(ds.split["valid"]) == 3
    assert not set(ds.split["valid"].tolist()) & set(ds.split["test"].tolist())
    assert float(ds.x.norm(dim=-1).max()) <= 1.0 + 1e-5  # scaled into the unit sphere
    assert ds.augment and ds.task == "classification" and "meshes" in ds.split_info
    again = load_dataset("modelnet10", str(tmp_path), num_points=32, split_seed=1)
    assert torch.equal(again.x, ds.x)  # the sampling is seeded


@pytest.mark.parametrize("under", ["", "modelnet40", "data"])
def test_the_hdf5_copy_is_read_as_the_reference_reads_it(tmp_path, under):
    folder = write_modelnet_h5(tmp_path / under)
    ds = load_dataset("modelnet40", str(tmp_path), split_seed=0)
    with h5py.File(os.path.join(folder, "ply_data_train0.h5")) as f:
        first = torch.from_numpy(np.asarray(f["data"]))
    assert ds.x.shape == (10, 1024, 3) and ds.num_classes == 40
    assert torch.equal(ds.x[:3], first[:, :1024])  # the first 1024 points, no resampling
    assert ds.class_names[:2] == ["class0", "class1"]  # shape_names.txt
    assert torch.equal(ds.split["test"], torch.arange(6, 10))  # the official test files
    assert len(ds.split["valid"]) == 1 and "HDF5" in ds.split_info and ds.augment
    same = load_dataset("modelnet40", str(tmp_path), valid_fraction=0.0)
    assert torch.equal(same.split["valid"], same.split["test"])
    assert len(same.split["train"]) == 6 and "selection on the test split" in same.split_info


def test_without_file_lists_the_files_are_taken_in_name_order(tmp_path):
    folder = write_modelnet_h5(tmp_path, listed=False)
    (x, y), _, names = read_modelnet_h5(folder)
    with h5py.File(os.path.join(folder, "ply_data_train1.h5")) as f:
        assert torch.equal(x[3:], torch.from_numpy(np.asarray(f["data"])))
    assert y.dtype == torch.long and y.tolist() == [0, 1, 2, 3, 4, 5] and len(names) == 40


def test_num_points_beyond_the_copy_names_the_flag(tmp_path):
    write_modelnet_h5(tmp_path, points=64)
    with pytest.raises(ValueError, match=r"--num-points 1024: the HDF5 copy has 64 points"):
        load_dataset("modelnet40", str(tmp_path))


def test_a_ten_class_copy_is_named_modelnet10(tmp_path):
    write_modelnet_h5(tmp_path, classes=10)
    with pytest.raises(ValueError, match=r"has 10 classes, not 40: that is modelnet10"):
        load_dataset("modelnet40", str(tmp_path))


def test_missing_data_names_both_sources_and_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"neither the HDF5 copy.*nor the meshes"):
        load_dataset("modelnet40", str(tmp_path))


def test_a_modelnet40_folder_holding_modelnet10_is_refused(tmp_path):
    # PyG checks ModelNet40's folder for the ModelNet10 classes only.
    write_modelnet(tmp_path / "modelnet40")
    with pytest.raises(ValueError, match=r"has 10 classes, not 40: that is modelnet10"):
        load_dataset("modelnet40", str(tmp_path), num_points=32)
