import h5py
import pytest

from revgnn.datasets import load_dataset
from tests.datasets.point_fakes import write_partnet


def test_reads_the_h5_release(tmp_path):
    write_partnet(tmp_path / "partnet")
    ds = load_dataset("partnet", str(tmp_path), category="Chair", level=3)
    assert ds.x.shape == (10, 64, 3) and ds.ignore_classes == (0,)
    assert [len(ds.split[k]) for k in ("train", "valid", "test")] == [6, 2, 2]


def test_errors_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="PartNet needs a category"):
        load_dataset("partnet", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"no folder .*Chair-3"):
        load_dataset("partnet", str(tmp_path), category="Chair")
    write_partnet(tmp_path / "partnet")
    path = tmp_path / "partnet" / "sem_seg_h5" / "Chair-3" / "val-00.h5"
    with h5py.File(path, "w") as f:
        f["data"] = [[[0.0, 0.0, 0.0]]]
    with pytest.raises(ValueError, match="has no 'label_seg' dataset"):
        load_dataset("partnet", str(tmp_path), category="Chair")
