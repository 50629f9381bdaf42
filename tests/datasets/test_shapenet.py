import pytest

from revgnn.datasets import load_dataset
from tests.datasets.point_fakes import write_shapenet


def test_official_lists_and_resampled_shapes(tmp_path):
    write_shapenet(tmp_path / "shapenet")
    ds = load_dataset("shapenet", str(tmp_path), num_points=50)
    assert ds.x.shape == (10, 50, 3) and ds.num_classes == 50
    assert [len(ds.split[k]) for k in ("train", "valid", "test")] == [6, 2, 2]
    mug = load_dataset("shapenet", str(tmp_path), num_points=50, category="Mug")
    assert set(mug.y.unique().tolist()) <= {36, 37} and mug.x.size(0) == 5


def test_unknown_category(tmp_path):
    with pytest.raises(ValueError, match="category='Cup' is not one of Airplane"):
        load_dataset("shapenet", str(tmp_path), category="Cup")
