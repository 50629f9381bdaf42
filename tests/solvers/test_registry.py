from __future__ import annotations

import pytest
import torch

from revgnn.solvers import (
    ResidualMonitor,
    available_solvers,
    register_solver,
    solve,
)
from revgnn.solvers.registry import SOLVERS as REGISTRY
from tests.solvers.common import SOLVERS, D, N, global_residual, graph_map


def test_registry_adds_a_solver_and_rejects_bad_names():
    assert set(SOLVERS) <= set(available_solvers())
    try:

        @register_solver("halving_test")
        def halving(f, z0, max_iter, tol, stop_mode="rel"):
            monitor = ResidualMonitor("halving_test", tol, stop_mode)
            z = z0
            for _ in range(max_iter):
                fz = f(z)
                if monitor.update(z, fz):
                    break
                z = 0.5 * (z + fz)
            return monitor.result(z0)

        f = graph_map(0.9)
        z, stats = solve(f, torch.zeros(N, D), 200, 1e-5, solver="halving_test")
        assert stats.solver == "halving_test" and stats.converged
        assert global_residual(f, z) <= 1e-5
        with pytest.raises(ValueError, match="'halving_test' is already registered"):
            register_solver("halving_test")(halving)
    finally:
        if "halving_test" in REGISTRY:
            del REGISTRY["halving_test"]
    with pytest.raises(
        ValueError,
        match=r"solver='nope' is not one of anderson, broyden, fixed_point \(add one with",
    ):
        solve(graph_map(0.5), torch.zeros(N, D), solver="nope")
