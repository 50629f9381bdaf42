import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import SAGEConv

from revgnn import DeepGCNBlock, PreActConv
from tests.helpers import random_graph, rel_err
from tests.nn.common import D, EdgeProbe, N, graph


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


@pytest.mark.parametrize("kind", ["res+", "res"])
def test_a_gated_residual_block_starts_as_the_identity_and_learns_its_gate(kind):
    torch.manual_seed(0)
    x, edge_index = graph()
    x.requires_grad_(True)
    block = DeepGCNBlock(SAGEConv(D, D), D, kind, norm="layer", dropout=0.2, branch_gate=0.0)
    # The identity, exactly (a res block's dropout follows the sum: compared in eval mode).
    assert torch.equal(block.eval()(x, edge_index), x)
    out = block.train()(x, edge_index)
    if kind == "res+":
        assert torch.equal(out, x)
    (out * torch.randn_like(out)).sum().backward()
    gate = block.fn.gate if kind == "res+" else block.gate
    assert gate.grad is not None and gate.grad.abs() > 0  # the branch can grow
    # A gate g scales the branch: x + g * branch (res+: checked against the ungated block).
    block.eval()
    with torch.no_grad():
        gate.fill_(0.5)
    ungated = DeepGCNBlock(SAGEConv(D, D), D, kind, norm="layer", dropout=0.2).eval()
    ungated.load_state_dict({k: v for k, v in block.state_dict().items() if "gate" not in k})
    with torch.no_grad():
        expected = x + 0.5 * (ungated(x, edge_index) - x)
        assert rel_err(block(x, edge_index), expected) <= 1e-6
        block.reset_parameters()
    assert gate.item() == 0.0 and "branch_gate=0" in repr(block)


@pytest.mark.parametrize("kind", ["dense", "plain"])
def test_a_gate_needs_a_residual_branch(kind):
    with pytest.raises(ValueError, match=f"block='{kind}' has none: use block='res\\+' or 'res'"):
        DeepGCNBlock(SAGEConv(D, D), D, kind, branch_gate=0.0)


def test_reset_parameters_reaches_conv_and_norm():
    block = DeepGCNBlock(EdgeProbe(D), D, "RES", norm="layer")  # any case, as PyG's
    with torch.no_grad():
        block.norm.weight.fill_(3.0)
        block.conv.lin.weight.fill_(3.0)
    block.reset_parameters()
    assert torch.equal(block.norm.weight, torch.ones(D))
    assert not torch.equal(block.conv.lin.weight, torch.full((D, D), 3.0))
    assert "block='res'" in repr(block)
