import pytest
import torch
import torch.nn.functional as F

from revgnn.nas.operations import OPS, PRIMITIVES, RelSAGE, make_op
from tests.nas.graphs import ring


def test_the_search_space_is_sgas_ten_operations_with_none_first():
    assert PRIMITIVES == (
        "none",
        "skip_connect",
        "conv_1x1",
        "edge_conv",
        "mr_conv",
        "gat",
        "semi_gcn",
        "point_gin",
        "point_sage",
        "rel_sage",
    )
    assert set(OPS) == set(PRIMITIVES)


@pytest.mark.parametrize("name", PRIMITIVES)
def test_every_operation_maps_c_to_c_channels_and_gets_gradients(name):
    torch.manual_seed(0)
    x = torch.randn(12, 6, requires_grad=True)
    op = make_op(name, 6)
    out = op(x, ring(12))
    assert out.shape == (12, 6)
    if name == "none":
        assert torch.equal(out, torch.zeros_like(out))
    elif name == "skip_connect":
        assert out is x
    else:
        out.square().sum().backward()
        assert x.grad is not None and x.grad.abs().sum() > 0
        assert all(p.grad is not None for p in op.parameters())


def test_rel_sage_equals_its_formula():
    torch.manual_seed(0)
    op, x, edge_index = RelSAGE(4), torch.randn(8, 4), ring(8)
    with torch.no_grad():
        op.bias.normal_()
    g, h = op.pre.first, op.post.first
    pooled = torch.full((8, 4), -torch.inf)
    for j, i in edge_index.t().tolist():
        pooled[i] = torch.maximum(pooled[i], F.relu(g(x[j] - x[i])))
    expected = F.normalize(F.relu(h(torch.cat([x, pooled], -1))) + op.bias, dim=-1)
    assert torch.allclose(op(x, edge_index), expected, atol=1e-6)


def test_unknown_operations_are_refused_with_the_list():
    with pytest.raises(ValueError, match="operation='conv_3x3' is not one of conv_1x1, edge_conv"):
        make_op("conv_3x3", 4)
