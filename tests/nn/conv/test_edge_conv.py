import pytest
import torch

from revgnn.nn.conv import CONVS
from revgnn.nn.conv.edge_conv import EdgeConv
from tests.nn.conv.point_common import check_dense_equals_sparse, cloud, neighbours


@pytest.mark.parametrize("norm", [None, "batch"])
def test_edge_conv_equals_its_formula(norm):
    x, index, _ = cloud()
    conv = EdgeConv(4, 5, norm=norm).train()
    # h([x_i, x_j - x_i]) for every edge, one MLP call over all edges (BatchNorm sees them all)
    rows = [
        torch.cat([x[b, i], x[b, j] - x[b, i]])
        for b in range(2)
        for i in range(6)
        for j in neighbours(index, b, i)
    ]
    h = conv.nn(torch.stack(rows)).view(2, 6, 3, 5)
    torch.testing.assert_close(conv(x, index), h.amax(dim=2), rtol=1e-5, atol=1e-5)


def test_dense_form_equals_pygs_edge_conv_on_the_same_graph():
    check_dense_equals_sparse(EdgeConv(4, 5))


def test_registered_for_rev_gnn_without_inner_norm():
    conv = CONVS["edge"](8, 8, None)
    assert isinstance(conv, EdgeConv)
    assert not any(type(m).__name__ == "PointNorm" for m in conv.modules())
    assert list(conv.state_dict()) == ["nn.0.weight", "nn.0.bias"]  # PyG's conv shares nn


def test_wrong_inputs_are_named():
    conv = EdgeConv(4, 5)
    x, index, _ = cloud()
    with pytest.raises(ValueError, match="expects 4 input channels"):
        conv(torch.randn(2, 6, 3), index)
    with pytest.raises(ValueError, match=r"need neighbour indices \[2, 6, k\]"):
        conv(x, index[:, :4])
    with pytest.raises(ValueError, match=r"need an edge_index \[2, num_edges\]"):
        conv(x[0], index[0])
