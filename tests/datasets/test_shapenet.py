import pytest
from torch_geometric.datasets import ShapeNet

from revgnn.datasets import load_dataset
from tests.datasets.point_fakes import write_shapenet


def test_official_lists_and_resampled_shapes(tmp_path):
    write_shapenet(tmp_path / "shapenet")
    ds = load_dataset("shapenet", str(tmp_path), num_points=50)
    assert ds.x.shape == (10, 50, 3) and ds.num_classes == 50
    assert [len(ds.split[k]) for k in ("train", "valid", "test")] == [6, 2, 2]
    assert ds.metric == "instance_miou"
    airplane, mug = 0, list(ShapeNet.seg_classes).index("Mug")
    # write_shapenet puts five Airplane shapes, then five Mug shapes, over the three lists
    want = {k: [] for k in ("train", "valid", "test")}
    for cat in (airplane, mug):
        for k in ("train", "train", "train", "valid", "test"):
            want[k].append(cat)
    got = {k: ds.categories[ds.split[k]].tolist() for k in want}
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in want.items()}
    assert ds.category_parts[mug] == [36, 37]
    mug_only = load_dataset("shapenet", str(tmp_path), num_points=50, category="Mug")
    assert set(mug_only.y.unique().tolist()) <= {36, 37} and mug_only.x.size(0) == 5
    assert set(mug_only.categories.tolist()) == {mug}  # global category numbers


def test_unknown_category(tmp_path):
    with pytest.raises(ValueError, match="category='Cup' is not one of Airplane"):
        load_dataset("shapenet", str(tmp_path), category="Cup")
