import pytest
import torch
from torch_geometric.data import Data

from revgnn.datasets.ogb_guard import ogb_guard, pyg_safe_globals, refuse_input


def test_prompts_are_refused_and_pyg_classes_load_only_inside(tmp_path):
    from ogb.nodeproppred import dataset_pyg

    with pytest.raises(RuntimeError, match="revgnn never answers ogb's prompts"):
        refuse_input("Will you update the dataset now? (y/N)")
    path = tmp_path / "data.pt"
    torch.save(Data(x=torch.ones(2, 3)), path)
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)
    with pyg_safe_globals():
        assert torch.equal(torch.load(path, weights_only=True).x, torch.ones(2, 3))
    with ogb_guard():
        assert dataset_pyg.input is refuse_input
    assert not hasattr(dataset_pyg, "input")  # the builtin again once the guard ends
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(path, weights_only=True)


def test_ogbs_raw_reader_is_ours_only_inside():
    from ogb.io import read_graph_pyg
    from ogb.io.read_graph_raw import read_csv_graph_raw as ogb_reader

    from revgnn.datasets.ogb_raw import read_csv_graph_raw

    with ogb_guard():
        assert read_graph_pyg.read_csv_graph_raw is read_csv_graph_raw
    assert read_graph_pyg.read_csv_graph_raw is ogb_reader
