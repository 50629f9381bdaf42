import pytest
from torch_geometric.datasets import PPI

from revgnn.datasets.pyg_local import pyg_local


def test_refuses_to_download_and_names_the_flag(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"PPI: .*raw lacks train_feats.npy.* and 8 more"):
        pyg_local(PPI, str(tmp_path), False, "LAYOUT")
    assert not list(tmp_path.rglob("*.zip"))
