from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from revgnn.solvers import (
    ConvergenceWarning,
    solve,
)
from tests.helpers import random_graph, rel_err
from tests.solvers.common import SOLVERS, D, E, N, global_residual, graph_map


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("tol", [1e-4, 1e-6])
def test_converged_state_satisfies_tolerance(solver, tol):
    f = graph_map(0.95)
    z, stats = solve(f, torch.zeros(N, D), max_iter=200, tol=tol, solver=solver)
    assert stats.converged and stats.solver == solver
    assert z.shape == (N, D) and z.dtype == torch.float32
    # The test the solver promises: ||f(z*) - z*|| / ||z*|| <= tol, over the whole state.
    zf = z.clone()
    assert ((f(zf) - zf).norm() / zf.norm()).item() <= tol
    assert stats.iterations == len(stats.residuals) <= 200
    assert stats.best_residual == stats.residuals[stats.best_iteration] <= tol
    assert stats.residuals[0] == math.inf  # relative residual at z0 = 0 is undefined
    # And it is the fixed point: the reference is 400 plain iterations in float64.
    ref = torch.zeros(N, D, dtype=torch.float64)
    for _ in range(400):
        ref = f(ref)
    assert rel_err(z, ref) <= 30 * tol


def test_state_is_one_vector_even_with_an_all_zero_node():
    # Node 0 has no in-edges and zero injection: its equilibrium row is exactly 0. A per-node
    # relative residual divides 0 by 0 there (torchdeq batches over dim 0 and returns NaN);
    # the whole-graph residual is well defined and every solver converges.
    ei = random_graph(N, E, seed=1)
    ei = ei[:, ei[1] != 0]
    base = graph_map(0.9, seed=1, edge_index=ei)

    def f(z: Tensor) -> Tensor:
        out = base(z)
        out[0] = 0.0
        return out

    for solver in SOLVERS:
        z, stats = solve(f, torch.zeros(N, D), max_iter=100, tol=1e-6, solver=solver)
        assert stats.converged, solver
        assert torch.isfinite(z).all() and torch.all(z[0] == 0), solver
        assert global_residual(f, z) <= 1e-6
        # The recorded residual is the global one of the returned state.
        assert abs(stats.best_residual - global_residual(f, z)) <= 1e-6


@pytest.mark.parametrize("solver", SOLVERS)
def test_nonconvergence_returns_lowest_residual_iterate_and_warns(solver):
    f = graph_map(40.0)  # strongly expansive around its fixed point
    with pytest.warns(ConvergenceWarning, match=rf"\({solver}\) did not converge.*max_iter"):
        z, stats = solve(f, torch.zeros(N, D), max_iter=12, tol=1e-8, solver=solver)
    assert not stats.converged and not stats.diverged
    assert stats.iterations == 12
    assert stats.best_residual == min(stats.residuals) > 1e-8
    assert stats.best_residual == pytest.approx(global_residual(f, z), rel=1e-4)
    assert torch.isfinite(z).all()


def test_no_warning_when_asked_not_to():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, stats = solve(graph_map(40.0), torch.zeros(N, D), 5, 1e-8, warn=False)
    assert not stats.converged


@pytest.mark.parametrize("solver", SOLVERS)
def test_non_finite_f_stops_and_returns_the_best_finite_iterate(solver):
    calls = []

    def f(z: Tensor) -> Tensor:
        calls.append(1)
        out = 0.5 * torch.tanh(z + torch.arange(D)) + 1.0
        return out if len(calls) < 4 else out * math.inf

    with pytest.warns(ConvergenceWarning, match="non-finite"):
        z, stats = solve(f, torch.zeros(N, D), max_iter=50, tol=0.0, solver=solver)
    assert stats.diverged and not stats.converged
    assert stats.iterations == 4 and stats.residuals[-1] == math.inf
    assert torch.isfinite(z).all()
    assert stats.best_residual == min(stats.residuals[:3])


def test_abs_stop_mode_and_float64_state():
    f = graph_map(0.8)
    z, stats = solve(f, torch.zeros(N, D, dtype=torch.float64), 200, 1e-10, stop_mode="abs")
    assert z.dtype == torch.float64 and stats.stop_mode == "abs"
    assert (f(z) - z).norm().item() <= 1e-10
    assert stats.residuals[0] == pytest.approx(f(torch.zeros(N, D, dtype=torch.float64)).norm())


def test_solver_runs_in_float32_under_autocast_while_f_runs_in_bf16():
    torch.manual_seed(0)
    lin = torch.nn.Linear(D, D)
    with torch.no_grad():
        lin.weight.mul_(0.5 / torch.linalg.matrix_norm(lin.weight, 2))
    seen = []

    def f(z: Tensor) -> Tensor:
        seen.append(z.dtype)
        h = lin(z)  # bf16 under autocast
        seen.append(h.dtype)
        return torch.tanh(h) + 1.0

    with torch.autocast("cpu", dtype=torch.bfloat16):
        z, stats = solve(f, torch.zeros(N, D), 50, 1e-2, solver="anderson")
        inner = torch.mm(z, z.T)  # the caller's autocast state is restored afterwards
    assert inner.dtype == torch.bfloat16
    assert z.dtype == torch.float32 and stats.converged
    assert set(seen[0::2]) == {torch.float32} and set(seen[1::2]) == {torch.bfloat16}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_iter": 0}, "max_iter=0 must be at least 1"),
        ({"tol": -1.0}, "tol=-1.0 must be non-negative"),
        ({"stop_mode": "max"}, "stop_mode='max' is not one of rel, abs"),
        ({"solver": "fixed_point", "tau": 1.5}, r"tau=1.5 must lie in \(0, 1\]"),
        ({"solver": "anderson", "m": 0}, "m=0 must be at least 1"),
        ({"solver": "anderson", "lam": -1.0}, "lam=-1.0 must be non-negative"),
        ({"solver": "anderson", "beta": 0.0}, r"beta=0.0 must lie in \(0, 1\]"),
        ({"solver": "broyden", "m": 0}, "m=0 must be at least 1"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve(graph_map(0.5), torch.zeros(N, D), **kwargs)


def test_wrong_output_shape_raises():
    with pytest.raises(ValueError, match=r"f must return the shape of z0 \(40, 8\), got \(40, 4\)"):
        solve(lambda z: z[:, :4], torch.zeros(N, D))
