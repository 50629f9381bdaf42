import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import SAGEConv

from revgnn import GENConv, PreActConv
from revgnn.nn.conv import pyg_convs
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


def _gcnii_block(**settings):
    conv = pyg_convs.gcnii(D, D, None, layer=3, normalize=False)
    return PreActConv(conv, D, **{"norm": None, "dropout": 0.5, "branch_scale": 0.25, **settings})


def _gcnii_inputs():
    x, edge_index = graph()
    adj_t, _ = pyg_convs.gcn_prepare(edge_index, N, torch.float32)
    initial = torch.randn(N, D, generator=torch.Generator().manual_seed(1)).requires_grad_()
    return x.requires_grad_(), adj_t, initial


@pytest.mark.parametrize("dropout", [0.5, 0.0])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("frozen", [False, True])
def test_the_explicit_backward_equals_autograds(dropout, training, frozen):
    # What a reversible stack calls instead of recording the block for autograd: the same
    # output bit for bit (the same dropout draws from the same seed) and autograd's gradients.
    torch.manual_seed(0)
    block = _gcnii_block(dropout=dropout).train(training)
    block.conv.conv.weight1.requires_grad_(not frozen)
    x, adj_t, initial = _gcnii_inputs()
    grad = torch.randn(N, D)
    torch.manual_seed(5)
    out = block(x, adj_t, None, initial)
    wrt = [x, initial] + [p for p in block.parameters() if p.requires_grad]
    ref = torch.autograd.grad(out, wrt, grad)
    torch.manual_seed(5)
    z, backward = block.explicit_vjp(x.detach(), adj_t, None, initial)
    assert torch.equal(z, out) and not z.requires_grad
    g_x, g_params, g_args = backward(grad)
    assert len(g_params) == (0 if frozen else 1) and g_args[0] is None
    for got, want in zip([g_x, g_args[1], *g_params], ref, strict=True):
        assert rel_err(got, want) < 1e-6
    if training and dropout > 0:  # the mask is drawn: another seed, another output
        torch.manual_seed(6)
        assert not torch.equal(block.explicit_vjp(x.detach(), adj_t, None, initial)[0], z)


@pytest.mark.parametrize("training", [True, False])
def test_the_explicit_backward_applies_a_shared_mask(training):
    # RevGNN's shared dropout: one pre-scaled mask for every block, applied in training only.
    torch.manual_seed(0)
    block = _gcnii_block(dropout=0.0).train(training)
    x, adj_t, initial = _gcnii_inputs()
    mask = (torch.rand(N, D) > 0.5).float() * 2
    grad = torch.randn(N, D)
    out = block(x, adj_t, mask, initial)
    ref = torch.autograd.grad(out, [x, initial, *block.parameters()], grad)
    z, backward = block.explicit_vjp(x.detach(), adj_t, mask, initial)
    assert torch.equal(z, out)
    g_x, g_params, (g_mask, g_initial) = backward(grad)
    assert g_mask is None
    for got, want in zip([g_x, g_initial, *g_params], ref, strict=True):
        assert rel_err(got, want) < 1e-6


def test_the_explicit_backward_is_declined_where_it_does_not_apply():
    torch.manual_seed(0)
    x, adj_t, initial = _gcnii_inputs()
    x = x.detach()
    assert _gcnii_block().explicit_vjp(x, adj_t, None, initial) is not None
    declined = {
        "norm": (_gcnii_block(norm="layer"), (None, initial), {}),
        "act": (_gcnii_block(act="elu"), (None, initial), {}),
        "gate": (_gcnii_block(branch_gate=1.0), (None, initial), {}),
        "edge dropout": (_gcnii_block(edge_dropout=0.2), (None, initial), {}),
        "a mask that learns": (_gcnii_block(), (torch.ones(N, D).requires_grad_(), initial), {}),
        "no initial": (_gcnii_block(), (None, None), {}),
        "keywords": (_gcnii_block(), (None, initial), {"edge_weight": torch.ones(E)}),
        "conv": (PreActConv(SAGEConv(D, D), D, norm=None), (None, None), {}),
    }
    for name, (block, args, kwargs) in declined.items():
        assert block.explicit_vjp(x, adj_t, *args, **kwargs) is None, name
    # An edge index (not the prepared CSR adjacency) goes through PyG's propagate.
    assert _gcnii_block().explicit_vjp(x, graph()[1], None, initial) is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert _gcnii_block().explicit_vjp(x, adj_t, None, initial) is None
    # Edge dropout outside training drops nothing: the explicit pass serves it.
    assert _gcnii_block(edge_dropout=0.2).eval().explicit_vjp(x, adj_t, None, initial) is not None
