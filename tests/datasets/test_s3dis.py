import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.s3dis import normalize_scale
from tests.datasets.point_fakes import write_s3dis


def test_test_area_is_held_out_and_the_channels_follow_the_reference(tmp_path):
    data, label = write_s3dis(tmp_path / "s3dis")
    ds = load_dataset("s3dis", str(tmp_path), test_area=5)
    assert ds.x.shape == (8, 64, 9) and ds.y.shape == (8, 64) and ds.num_classes == 13
    test = ds.split["test"]
    assert len(test) == 2 and ds.metric == "miou"
    # Area_5's blocks (0, 1) are the test clouds; xyz normalised per block, the rest kept.
    assert test.tolist() == [0, 1]
    want = torch.from_numpy(data[:2])
    assert torch.equal(ds.x[test][..., 3:], want[..., 3:])
    assert torch.allclose(ds.x[test][..., :3], normalize_scale(want[..., :3]))
    assert torch.equal(ds.y[test], torch.from_numpy(label[:2]).long())
    assert float(ds.x[..., :3].abs().max()) < 1.0


def test_validation_is_whole_rooms_of_the_training_areas(tmp_path):
    rooms = ["Area_5_a", "Area_5_a"] + [f"Area_{1 + i % 2}_room{i // 4}" for i in range(18)]
    write_s3dis(tmp_path / "s3dis", blocks=20, rooms=rooms)
    ds = load_dataset("s3dis", str(tmp_path), valid_fraction=0.25, split_seed=3)
    held = {rooms[i] for i in ds.split["valid"].tolist()}
    kept = {rooms[i] for i in ds.split["train"].tolist()}
    assert held and not held & kept  # no room on both sides
    assert len(held) == 2 and "2 of 10 training rooms" in ds.split_info
    assert sorted(ds.split["train"].tolist() + ds.split["valid"].tolist()) == list(range(2, 20))
    same = load_dataset("s3dis", str(tmp_path), valid_fraction=0.0)
    assert torch.equal(same.split["valid"], same.split["test"])


@pytest.mark.parametrize("folder", ["S3DIS/raw", "indoor3d_sem_seg_hdf5_data"])
def test_the_reference_folder_names_are_accepted(tmp_path, folder):
    write_s3dis(tmp_path / folder.removesuffix("/raw"))
    if not folder.endswith("/raw"):  # the zip extracted as it is: files at the top
        (tmp_path / folder / "raw").rename(tmp_path / "tmp")
        (tmp_path / folder).rmdir()
        (tmp_path / "tmp").rename(tmp_path / folder)
    for area in range(1, 7):
        if area in (1, 5):
            assert len(load_dataset("s3dis", str(tmp_path), test_area=area).split["test"]) > 0
        else:
            with pytest.raises(ValueError, match=f"no blocks in Area_{area}"):
                load_dataset("s3dis", str(tmp_path), test_area=area)


def test_bad_area_missing_folder_and_mismatched_rooms(tmp_path):
    with pytest.raises(ValueError, match=r"test_area=7 must lie in \[1, 6\]"):
        load_dataset("s3dis", str(tmp_path), test_area=7)
    with pytest.raises(FileNotFoundError, match=r"none of .*s3dis/raw/all_files\.txt"):
        load_dataset("s3dis", str(tmp_path))
    write_s3dis(tmp_path / "s3dis", rooms=["Area_5_a"] * 3)
    with pytest.raises(ValueError, match="names 3 rooms for 8 blocks"):
        load_dataset("s3dis", str(tmp_path))
