import pytest
import torch

from revgnn.nn.deq import jacobian_regularizer

N, D = 30, 8


def test_jacobian_regularizer_estimates_the_frobenius_norm():
    torch.manual_seed(0)
    w = torch.randn(D, D)
    z = torch.randn(N, D, requires_grad=True)
    fz = z @ w  # J = I_N (x) W^T: ||J||_F^2 = N ||W||_F^2
    est = jacobian_regularizer(fz, z, num_samples=2000, create_graph=False)
    exact = N * w.square().sum() / z.numel()
    assert est.item() == pytest.approx(exact.item(), rel=0.05)
    with pytest.raises(ValueError, match="num_samples=0 must be at least 1"):
        jacobian_regularizer(fz, z, num_samples=0)
