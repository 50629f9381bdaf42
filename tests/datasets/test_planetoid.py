import pytest
import torch

from revgnn.datasets import load_cora, load_dataset


def test_bundled_cora_matches_planetoid_with_the_files_features(root):
    ds = load_cora()
    assert (ds.num_nodes, ds.num_edges, ds.num_features, ds.num_classes) == (2708, 10556, 1433, 7)
    assert set(ds.data.x.unique().tolist()) == {0.0, 1.0}  # as PyG's Planetoid returns them
    assert torch.equal(load_dataset("cora", root).data.x, ds.data.x)


def test_citeseer_needs_the_data_folder(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"dataset 'citeseer' needs root= .*it reads <root>/planetoid/CiteSeer/raw; only Cora",
    ):
        load_dataset("citeseer")
    with pytest.raises(FileNotFoundError, match=r"citeseer: .*planetoid/CiteSeer/raw does not"):
        load_dataset("citeseer", str(tmp_path))
