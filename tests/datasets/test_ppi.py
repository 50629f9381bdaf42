import pytest

from revgnn.datasets.ppi import load_ppi
from tests.datasets.point_fakes import write_ppi


def test_reads_the_graphsage_layout(tmp_path):
    write_ppi(tmp_path / "ppi")
    graphs = load_ppi(str(tmp_path))
    assert {k: len(v) for k, v in graphs.items()} == {"train": 2, "valid": 2, "test": 2}
    g = graphs["train"][0]
    assert g.x.shape == (12, 50) and g.y.shape == (12, 121) and g.edge_index.size(1) == 24


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train_feats\.npy.*pass --download"):
        load_ppi(str(tmp_path))
