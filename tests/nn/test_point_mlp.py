import pytest
import torch
from torch import nn

from revgnn.nn.point_mlp import PointMLP, PointNorm, activation


def test_layer_order_is_linear_act_norm_and_init_is_kaiming_zero_bias():
    mlp = PointMLP([4, 8, 3], act="leakyrelu", norm="batch", dropout=0.1)
    kinds = [type(m).__name__ for m in mlp]
    assert kinds == ["Linear", "LeakyReLU", "PointNorm", "Dropout"] * 2
    assert all(not m.bias.detach().any() for m in mlp if isinstance(m, nn.Linear))
    x = torch.randn(2, 5, 7, 4)
    assert mlp(x).shape == (2, 5, 7, 3)


def test_batch_norm_normalises_over_every_leading_dimension():
    norm = PointNorm("batch", 3).train()
    x = torch.randn(2, 10, 4, 3) * 5 + 2
    out = norm(x)
    want = nn.functional.batch_norm(x.reshape(-1, 3), None, None, training=True)
    torch.testing.assert_close(out.reshape(-1, 3), want)


def test_instance_norm_is_per_cloud():
    x = torch.randn(3, 20, 2) * torch.tensor([1.0, 10.0]) + torch.arange(3.0).view(3, 1, 1)
    out = PointNorm("instance", 2)(x)
    torch.testing.assert_close(out.mean(1), torch.zeros(3, 2), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.var(1, unbiased=False), torch.ones(3, 2), atol=1e-3, rtol=0)
    with pytest.raises(ValueError, match="norm='instance' needs clouds"):
        PointNorm("instance", 2)(torch.randn(4, 2))


def test_tail_is_everything_after_the_first_map():
    mlp = PointMLP([3, 5]).eval()
    x = torch.randn(4, 3)
    torch.testing.assert_close(mlp.tail(mlp.first(x)), mlp(x))


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least two positive widths"):
        PointMLP([4])
    with pytest.raises(ValueError, match="act='gelu' is not one of"):
        activation("gelu")
    with pytest.raises(ValueError, match="norm='layer' is not one of"):
        PointNorm("layer", 4)
    assert activation(None) is None
