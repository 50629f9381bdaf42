import torch

from revgnn.nn.conv import CONVS
from revgnn.nn.conv.mr_conv import MRConv
from tests.nn.conv.point_common import check_dense_equals_sparse, cloud, neighbours


def test_mr_conv_equals_its_formula():
    x, index, _ = cloud()
    conv = MRConv(4, 5).train()
    rows = []
    for b in range(2):
        for i in range(6):
            rel = torch.stack([x[b, j] - x[b, i] for j in neighbours(index, b, i)]).amax(0)
            rows.append(torch.cat([x[b, i], rel]))
    want = conv.nn(torch.stack(rows)).view(2, 6, 5)
    torch.testing.assert_close(conv(x, index), want, rtol=1e-5, atol=1e-6)


def test_dense_equals_sparse():
    check_dense_equals_sparse(MRConv(4, 5))


def test_a_node_without_neighbours_gets_zero_relative_features():
    conv = MRConv(2, 3, norm=None).eval()
    x = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    out = conv(x, torch.tensor([[0], [1]]))  # node 0 has no incoming edge
    torch.testing.assert_close(out[0], conv.nn(torch.tensor([1.0, 2.0, 0.0, 0.0])))
    assert isinstance(CONVS["mr"](4, 4, None), MRConv)
