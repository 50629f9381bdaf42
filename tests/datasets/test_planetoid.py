import pytest
import torch

from revgnn.datasets import load_cora, load_dataset


def test_bundled_cora_matches_planetoid_and_is_row_normalised(root):
    ds = load_cora()
    assert (ds.num_nodes, ds.num_edges, ds.num_features, ds.num_classes) == (2708, 10556, 1433, 7)
    torch.testing.assert_close(ds.data.x.sum(1), torch.ones(2708))
    assert torch.equal(load_dataset("cora", root).data.x, ds.data.x)
    raw = load_cora(normalize_features=False)
    assert set(raw.data.x.unique().tolist()) == {0.0, 1.0}


def test_citeseer_needs_the_data_folder(tmp_path):
    with pytest.raises(ValueError, match="dataset 'citeseer' needs root="):
        load_dataset("citeseer")
    with pytest.raises(FileNotFoundError, match=r"citeseer: .*planetoid/CiteSeer/raw does not"):
        load_dataset("citeseer", str(tmp_path))
