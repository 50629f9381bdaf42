import pytest
import torch

from revgnn.solvers import fixed_point, solve


def test_damping_converges_where_plain_iteration_oscillates():
    # f(z) = c - z has Jacobian -1: plain iteration cycles, tau = 0.5 lands on c / 2 at once.
    c = torch.linspace(1.0, 2.0, 12)

    def f(z):
        return c - z

    _, plain = solve(f, torch.zeros(12), max_iter=50, tol=1e-6, solver="fixed_point", warn=False)
    z, damped = solve(f, torch.zeros(12), max_iter=50, tol=1e-6, solver="fixed_point", tau=0.5)
    assert not plain.converged and damped.converged and damped.iterations <= 3
    assert torch.allclose(z, c / 2)
    with pytest.raises(ValueError, match=r"tau=0.0 must lie in \(0, 1\]"):
        fixed_point(f, torch.zeros(12), 5, 1e-6, tau=0.0)
