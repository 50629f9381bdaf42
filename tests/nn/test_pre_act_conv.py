import torch
import torch.nn.functional as F
from torch_geometric.nn import SAGEConv

from revgnn import GENConv, PreActConv
from tests.helpers import rel_err
from tests.nn.common import D, E, N, graph


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


def test_preactconv_edge_dropout_with_genconv():
    torch.manual_seed(0)
    block = PreActConv(GENConv(D, D, "softmax", edge_dim=3), D, edge_dropout=0.5)
    x, edge_index = graph()
    out = block(x, edge_index, edge_attr=torch.randn(E, 3))
    assert out.shape == (N, D) and torch.isfinite(out).all()
    assert "edge_dropout=0.5" in repr(block)


def test_a_zero_gate_starts_the_block_at_the_identity_and_the_scale_is_fixed():
    torch.manual_seed(0)
    block = PreActConv(SAGEConv(D, D), D, norm="layer", branch_scale=0.25, branch_gate=0.0)
    x, edge_index = graph()
    out = block(x, edge_index)
    assert torch.equal(out, torch.zeros_like(out))
    out.sum().backward()
    assert block.gate.grad.abs() > 0  # it learns how much the block adds
    with torch.no_grad():
        block.gate.fill_(0.7)
    ref = 0.25 * 0.7 * block.conv(F.relu(block.norm(x)), edge_index)
    assert torch.allclose(block(x, edge_index), ref)
    block.reset_parameters()
    assert block.gate.item() == 0.0 and "branch_scale=0.25, branch_gate=0" in repr(block)
    assert [n for n, _ in PreActConv(SAGEConv(D, D), D, branch_scale=0.5).named_parameters()] == [
        n for n, _ in PreActConv(SAGEConv(D, D), D).named_parameters()
    ]  # a fixed scale adds no parameter
