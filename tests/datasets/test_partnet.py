import h5py
import pytest

from revgnn.datasets import load_dataset
from tests.datasets.point_fakes import write_partnet


def test_reads_the_h5_release(tmp_path):
    write_partnet(tmp_path / "partnet")
    ds = load_dataset("partnet", str(tmp_path), category="Chair", level=3)
    assert ds.x.shape == (10, 64, 3) and ds.ignore_classes == (0,)
    assert [len(ds.split[k]) for k in ("train", "valid", "test")] == [6, 2, 2]


@pytest.mark.parametrize("category", ["Chair", "chair", "4"])
def test_the_reference_layout_and_numbered_categories(tmp_path, category):
    write_partnet(tmp_path / "partnet" / "raw")  # partnet/raw/sem_seg_h5/Chair-3
    ds = load_dataset("partnet", str(tmp_path), category=category, level=3)
    assert ds.name == "partnet Chair-3" and ds.x.shape == (10, 64, 3)


def test_errors_name_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match=r"numbered 0\.\.23"):
        load_dataset("partnet", str(tmp_path), category="24")
    with pytest.raises(ValueError, match="'Sofa' is not one of Bag, Bed"):
        load_dataset("partnet", str(tmp_path), category="Sofa")
    with pytest.raises(ValueError, match="PartNet needs a category"):
        load_dataset("partnet", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"none of .*partnet/raw/sem_seg_h5/Chair-3"):
        load_dataset("partnet", str(tmp_path), category="Chair")
    write_partnet(tmp_path / "partnet")
    path = tmp_path / "partnet" / "sem_seg_h5" / "Chair-3" / "val-00.h5"
    with h5py.File(path, "w") as f:
        f["data"] = [[[0.0, 0.0, 0.0]]]
    with pytest.raises(ValueError, match="has no 'label_seg' dataset"):
        load_dataset("partnet", str(tmp_path), category="Chair")
