from pathlib import Path

import pytest

from revgnn.datasets import load_ogbg
from tests.ogb_layouts import write_ogbg_layout


def test_loads_offline_with_its_split(tmp_path):
    write_ogbg_layout(str(tmp_path), num_graphs=30)
    dataset, split = load_ogbg("ogbg-molhiv", str(tmp_path))
    assert len(dataset) == 30 and dataset.num_tasks == 1
    assert [len(split[k]) for k in ("train", "valid", "test")] == [20, 5, 5]


def test_graph_loader_refuses_folder_without_marker(tmp_path):
    folder = write_ogbg_layout(str(tmp_path))
    (Path(folder) / "RELEASE_v1.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks RELEASE_v1\.txt"):
        load_ogbg("ogbg-molhiv", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no OGB folder"):
        load_ogbg("ogbg-molhiv", str(tmp_path / "elsewhere"))
