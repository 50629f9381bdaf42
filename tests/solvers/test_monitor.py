import math

import torch

from revgnn.solvers import ResidualMonitor


def test_keeps_the_lowest_residual_iterate_and_stops_on_non_finite_values():
    monitor = ResidualMonitor("test", tol=1e-9)
    z1, z2 = torch.ones(3), torch.full((3,), 2.0)
    assert not monitor.update(z1, z1 + 1.0)  # residual sqrt(3) / sqrt(3) = 1
    assert not monitor.update(z2, z2 + 0.2)  # 0.1, the best
    assert monitor.update(z1, torch.full((3,), math.nan))  # diverged: stop
    z, stats = monitor.result(torch.zeros(3))
    assert z is z2 and stats.best_iteration == 1 and stats.diverged and not stats.converged
    assert stats.residuals[0] == 1.0 and math.isclose(stats.residuals[1], 0.1, rel_tol=1e-6)
    assert stats.residuals[2] == math.inf
    copied = ResidualMonitor("test", tol=1.0)
    assert copied.update(z1, z1, copy=True) and copied.best is not z1
