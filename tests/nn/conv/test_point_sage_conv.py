import torch

from revgnn.nn.conv.point_sage_conv import PointSAGEConv
from tests.nn.conv.point_common import check_dense_equals_sparse, cloud, neighbours


def test_point_sage_conv_equals_its_formula():
    x, index, _ = cloud()
    conv = PointSAGEConv(4, 5).train()
    g = conv.nn1(x.reshape(-1, 4)).view(2, 6, 4)  # g per point: its BatchNorm sees each once
    rows = []
    for b in range(2):
        for i in range(6):
            pooled = torch.stack([g[b, j] for j in neighbours(index, b, i)]).amax(0)
            rows.append(torch.cat([x[b, i], pooled]))
    want = conv.nn2(torch.stack(rows)).view(2, 6, 5)
    torch.testing.assert_close(conv(x, index), want, rtol=1e-5, atol=1e-6)


def test_dense_equals_sparse():
    check_dense_equals_sparse(PointSAGEConv(4, 5))
