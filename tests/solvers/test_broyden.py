import torch

from revgnn.solvers import solve


def test_linear_map_is_solved_in_a_few_updates():
    # f(z) = A z + b with ||A|| = 0.99: plain iteration needs ~1000 steps for 1e-6; Broyden's
    # rank-one updates learn the 6 x 6 Jacobian.
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    a = 0.99 * a / torch.linalg.matrix_norm(a, 2)
    b = torch.randn(6, generator=g, dtype=torch.float64)

    def f(z):
        return a @ z + b

    z, stats = solve(f, torch.zeros(6, dtype=torch.float64), 40, 1e-10, solver="broyden")
    exact = torch.linalg.solve(torch.eye(6, dtype=torch.float64) - a, b)
    assert stats.converged and stats.iterations <= 20
    assert torch.allclose(z, exact, atol=1e-8)
    zeros = torch.zeros(6, dtype=torch.float64)
    _, plain = solve(f, zeros, 40, 1e-10, solver="fixed_point", warn=False)
    assert not plain.converged


def test_a_zero_denominator_update_is_skipped_not_divided_by():
    # f(z) = z + 1 has no fixed point and a singular g' = 0: no NaN, best iterate returned.
    z, stats = solve(lambda z: z + 1.0, torch.ones(4), 10, 1e-6, solver="broyden", warn=False)
    assert torch.isfinite(z).all() and not stats.converged
