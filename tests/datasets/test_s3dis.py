import pytest

from revgnn.datasets import load_dataset
from tests.datasets.point_fakes import write_s3dis


def test_test_area_is_held_out_and_the_nine_channels_are_kept(tmp_path):
    write_s3dis(tmp_path / "s3dis")
    ds = load_dataset("s3dis", str(tmp_path), test_area=5)
    assert ds.x.shape == (6, 64, 9) and ds.y.shape == (6, 64) and ds.num_classes == 13
    assert len(ds.split["test"]) == 2  # the two Area_5 blocks
    assert ds.metric == "miou"


def test_bad_area_and_missing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"test_area=7 must lie in \[1, 6\]"):
        load_dataset("s3dis", str(tmp_path), test_area=7)
    with pytest.raises(FileNotFoundError, match=r"all_files\.txt"):
        load_dataset("s3dis", str(tmp_path))
