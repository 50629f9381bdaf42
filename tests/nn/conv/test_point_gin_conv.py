import torch

from revgnn.nn.conv.point_gin_conv import PointGINConv
from tests.nn.conv.point_common import check_dense_equals_sparse, cloud, neighbours


def test_point_gin_conv_equals_its_formula():
    x, index, _ = cloud()
    conv = PointGINConv(4, 5, eps=0.3).train()
    rows = [
        1.3 * x[b, i] + sum(x[b, j] for j in neighbours(index, b, i))
        for b in range(2)
        for i in range(6)
    ]
    want = conv.nn(torch.stack(rows)).view(2, 6, 5)
    torch.testing.assert_close(conv(x, index), want, rtol=1e-5, atol=1e-5)


def test_dense_equals_sparse_and_eps_learns_and_resets():
    conv = PointGINConv(4, 5)
    check_dense_equals_sparse(conv)
    x, index, _ = cloud()
    conv(x, index).sum().backward()
    assert conv.eps.grad is not None and bool(conv.eps.grad.abs() > 0)
    with torch.no_grad():
        conv.eps.fill_(2.0)
    conv.reset_parameters()
    assert float(conv.eps.detach()) == 0.0
