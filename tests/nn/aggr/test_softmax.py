import pytest
import torch

from revgnn.nn.aggr import (
    SoftmaxAggregation,
)
from tests.helpers import rel_err
from tests.nn.aggr.common import (
    INDEX,
    N,
    messages,
    reference,
)


@pytest.mark.parametrize("lean", [False, True])
def test_softmax_limits_are_mean_and_max(lean):
    m = messages(torch.float32)
    mean, mx = reference("mean", m), reference("max", m)
    small = SoftmaxAggregation(t=1e-6, lean=lean)(m, INDEX, dim_size=N)
    large = SoftmaxAggregation(t=1e3, lean=lean)(m, INDEX, dim_size=N)
    assert (small - mean).abs().max() <= 1e-5
    assert (large - mx).abs().max() <= 1e-3
    assert (large - mean).abs().max() > 0.1  # the limits are far apart on this graph


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("lean", [False, True])
def test_softmax_with_beta_1e3_does_not_overflow(dtype, lean):
    # beta * m reaches 1e4: exp overflows without subtracting the per-node maximum.
    m = messages(torch.float32, low=1.0, high=10.0).to(dtype).requires_grad_()
    aggr = SoftmaxAggregation(t=1e3, learn=True, lean=lean)
    out = aggr(m, INDEX, dim_size=N)
    out.float().sum().backward()
    if lean:  # the lean path returns the messages' dtype (PyG's softmax promotes to t's)
        assert out.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(m.grad).all()
    assert torch.isfinite(aggr.t.grad).all()
    ref = reference("max", m.detach().double())
    tol = 1e-2 if dtype == torch.bfloat16 else 1e-5
    assert rel_err(out, ref) <= tol
