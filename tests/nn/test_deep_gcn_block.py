import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import SAGEConv

from revgnn import DeepGCNBlock, GENConv, PreActConv
from revgnn.nn import drop_edges, norm_layer
from tests.helpers import random_graph, rel_err

N, E, D = 20, 80, 6


class EdgeProbe(nn.Module):
    """Records the edges and edge features it receives; returns a linear map of x."""

    def __init__(self, channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, out_channels or channels)
        self.seen: list[tuple] = []

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def forward(self, x, edge_index, edge_attr=None, edge_weight=None):
        self.seen.append((edge_index, edge_attr, edge_weight))
        return self.lin(x)


def graph():
    g = torch.Generator().manual_seed(0)
    return torch.randn(N, D, generator=g), random_graph(N, E)


def test_preactconv_keeps_its_api():
    torch.manual_seed(0)
    conv = SAGEConv(D, D)
    block = PreActConv(conv, D, norm="batch", dropout=0.5)
    x, edge_index = graph()
    # An explicit mask replaces ordinary dropout (and is ignored in eval mode).
    mask = (torch.rand(N, D) > 0.5).float() * 2
    out = block(x, edge_index, mask)
    ref = conv(F.relu(block.norm(x)) * mask, edge_index)
    assert rel_err(out, ref) <= 1e-6
    block.eval()
    assert rel_err(block(x, edge_index, mask), conv(F.relu(block.norm(x)), edge_index)) <= 1e-6
    assert "dropout=0.5" in repr(block) and "edge_dropout" not in repr(block)


def test_layer_norm_is_per_node():
    # DeeperGCN's LayerNorm normalises every node on its own; PyG's resolver default would
    # normalise over the whole graph, coupling the nodes.
    norm = norm_layer("layer", D)
    assert isinstance(norm, nn.LayerNorm)
    x, _ = graph()
    y = x.clone()
    y[1:] *= 10.0
    assert torch.allclose(norm(x)[0], norm(y)[0])
    assert norm_layer(None, D) is None
    assert type(norm_layer("batch", D)).__name__ == "BatchNorm"
    with pytest.raises(TypeError, match="norm must be a name or None"):
        norm_layer(nn.LayerNorm(D), D)


@pytest.mark.parametrize("kind", ["res+", "res", "plain", "dense"])
def test_block_kinds_compute_their_formula(kind):
    torch.manual_seed(0)
    x, edge_index = graph()
    out_channels = 4 if kind == "dense" else D
    conv = SAGEConv(D, out_channels)
    block = DeepGCNBlock(conv, D, kind, norm="layer", dropout=0.3, out_channels=out_channels)
    block.eval()  # no dropout: the formulas are deterministic
    out = block(x, edge_index)
    if kind == "res+":
        ref = x + conv(F.relu(block.fn.norm(x)), edge_index)
    else:
        h = F.relu(block.norm(conv(x, edge_index)))
        if kind == "res":
            ref = x + h
        elif kind == "dense":
            ref = torch.cat([x, h], dim=-1)
        else:
            ref = h
    assert out.shape == ref.shape
    assert rel_err(out, ref) <= 1e-6
    assert block.conv_module is conv
    # Training mode applies dropout (the block is not silently deterministic).
    block.train()
    torch.manual_seed(1)
    assert not torch.allclose(block(x, edge_index), out)


@pytest.mark.parametrize("kind", ["res+", "plain"])
def test_edge_dropout_drops_edges_and_their_features_together(kind):
    torch.manual_seed(0)
    probe = EdgeProbe(D)
    block = DeepGCNBlock(probe, D, kind, edge_dropout=0.4)
    x = torch.randn(N, D)
    edge_index = random_graph(N, 2000)
    edge_attr = torch.arange(2000.0).unsqueeze(1)  # row k holds k
    edge_weight = torch.arange(2000.0)
    block(x, edge_index, edge_attr=edge_attr, edge_weight=edge_weight)
    kept, attr, weight = probe.seen[-1]
    assert 0.5 < kept.size(1) / 2000 < 0.7
    ids = attr.squeeze(1).long()
    assert torch.equal(kept, edge_index[:, ids]) and torch.equal(weight, ids.float())
    # A new call draws new edges; evaluation keeps them all.
    block(x, edge_index, edge_attr=edge_attr)
    assert not torch.equal(probe.seen[-1][0], kept)
    block.eval()
    block(x, edge_index, edge_attr=edge_attr)
    assert torch.equal(probe.seen[-1][0], edge_index)


def test_preactconv_edge_dropout_with_genconv():
    torch.manual_seed(0)
    block = PreActConv(GENConv(D, D, "softmax", edge_dim=3), D, edge_dropout=0.5)
    x, edge_index = graph()
    out = block(x, edge_index, edge_attr=torch.randn(E, 3))
    assert out.shape == (N, D) and torch.isfinite(out).all()
    assert "edge_dropout=0.5" in repr(block)


def test_drop_edges_needs_an_edge_index_tensor():
    with pytest.raises(TypeError, match="edge_dropout needs edge_index as a"):
        drop_edges([0, 1], {}, 0.5, training=True)
    edge_index = random_graph(N, E)
    assert drop_edges(edge_index, {}, 0.5, training=False)[0] is edge_index


def test_block_errors():
    with pytest.raises(ValueError, match="block='resnet' is not one of"):
        DeepGCNBlock(EdgeProbe(D), D, "resnet")
    with pytest.raises(ValueError, match="out_channels=4 must equal channels=6"):
        DeepGCNBlock(EdgeProbe(D, 4), D, "res", out_channels=4)
    with pytest.raises(ValueError, match=r"edge_dropout=1\.0 must lie in"):
        PreActConv(EdgeProbe(D), D, edge_dropout=1.0)
    x, edge_index = graph()
    with pytest.raises(ValueError, match="dropout_mask is only supported by res\\+ blocks"):
        DeepGCNBlock(EdgeProbe(D), D, "res")(x, edge_index, torch.ones(N, D))


def test_reset_parameters_reaches_conv_and_norm():
    block = DeepGCNBlock(EdgeProbe(D), D, "res", norm="layer")
    with torch.no_grad():
        block.norm.weight.fill_(3.0)
        block.conv.lin.weight.fill_(3.0)
    block.reset_parameters()
    assert torch.equal(block.norm.weight, torch.ones(D))
    assert not torch.equal(block.conv.lin.weight, torch.full((D, D), 3.0))
    assert "block='res'" in repr(block)
