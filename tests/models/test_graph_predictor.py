import pytest
import torch

from revgnn.models import GraphPredictor
from tests.helpers import deeper_gcn, rev_gnn


@pytest.mark.parametrize("body", [deeper_gcn, rev_gnn])
def test_mean_pools_the_node_logits_of_atom_and_bond_encoded_graphs(body):
    from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder

    torch.manual_seed(0)
    model = GraphPredictor(body(9, 8, 2, 2, edge_dim=3), 8).eval()
    assert isinstance(model.model.encoder.node, AtomEncoder)
    assert isinstance(model.model.encoder.edge, BondEncoder)
    x = torch.zeros(5, 9, dtype=torch.long)
    x[:, 0] = torch.arange(5)
    edge_index = torch.tensor([[0, 1, 3], [1, 2, 4]])
    edge_attr = torch.zeros(3, 3, dtype=torch.long)
    batch = torch.tensor([0, 0, 0, 1, 1])
    out = model(x, edge_index, edge_attr, batch)
    nodes = model.model(x, edge_index, edge_attr)
    assert out.shape == (2, 2)
    assert torch.allclose(out, torch.stack([nodes[:3].mean(0), nodes[3:].mean(0)]))


def test_needs_an_edge_path():
    with pytest.raises(ValueError, match="built with edge_dim set"):
        GraphPredictor(deeper_gcn(9, 8, 1, 2), 8)
