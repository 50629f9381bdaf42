import pytest
import torch

from revgnn.models.point_net import PointNet


def test_points_never_see_each_other():
    model = PointNet(3, 4, task="segmentation").eval()
    x = torch.randn(2, 16, 3)
    out = model(x)
    assert out.shape == (2, 16, 4)
    # a point's output depends on the others only through the global max
    local = model.local(x)
    pooled = model.glob(local).amax(1, keepdim=True).expand(-1, 16, -1)
    want = model.out(model.mlp(torch.cat([local, pooled], -1)))
    torch.testing.assert_close(out, want)


def test_classification_is_order_invariant_and_shapes_are_checked():
    model = PointNet(3, 5).eval()
    x = torch.randn(2, 16, 3)
    torch.testing.assert_close(model(x[:, torch.randperm(16)]), model(x))
    with pytest.raises(ValueError, match=r"x must be clouds \[batch, num_points, 3\]"):
        model(torch.randn(16, 3))
