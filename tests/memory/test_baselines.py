import pytest
import torch

from revgnn.memory.baselines import PreActStack, PyGDeepGCN, pyg_groupaddrev_gnn
from tests.helpers import random_graph, rev_gnn


@pytest.mark.parametrize("edge_dim", [None, 8])
def test_the_pyg_peer_has_revgnns_architecture(edge_dim):
    # Equal architectures, equal parameter counts: memory and time compare like for like.
    peer = pyg_groupaddrev_gnn(8, 64, 112, 5, edge_dim=edge_dim)
    ours = rev_gnn(8, 64, 112, 5, edge_dim=edge_dim)
    assert sum(p.numel() for p in peer.parameters()) == sum(p.numel() for p in ours.parameters())
    x, edge_index = torch.randn(30, 8), random_graph(30, 90)
    edge_attr = torch.randn(90, 8) if edge_dim else None
    out = peer(x, edge_index, edge_attr)
    out.sum().backward()
    assert out.shape == (30, 112) and all(p.grad is not None for p in peer.parameters())


def test_residual_stack_and_deepgcn_run_and_refuse_bad_settings():
    from torch_geometric.nn import SAGEConv

    stack = PreActStack(lambda c: SAGEConv(c, c), 6, 8, 3, 4, mode="residual")
    assert stack(torch.randn(10, 6), random_graph(10, 30)).shape == (10, 3)
    assert "mode='residual'" in repr(stack)
    deep = PyGDeepGCN(6, 8, 3, 3, edge_dim=2, aggr="softmax")
    assert deep(torch.randn(10, 6), random_graph(10, 30), torch.randn(30, 2)).shape == (10, 3)
    with pytest.raises(ValueError, match="mode='loop' must be one of"):
        PreActStack(lambda c: SAGEConv(c, c), 6, 8, 3, 4, mode="loop")
    with pytest.raises(ValueError, match="num_groups=3 must divide hidden_channels=8"):
        PreActStack(lambda c: SAGEConv(c, c), 6, 8, 3, 4, num_groups=3)
