"""Find a fixed point with a registered solver, the whole state as one vector."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from revgnn.solvers.registry import STOP_MODES, get_solver
from revgnn.solvers.stats import ConvergenceWarning, SolverStats, convergence_message
from revgnn.utils.autocast import AutocastState, autocast_disabled
from revgnn.utils.registry import resolve_name

__all__ = ["solve"]


def solve(
    f: Callable[[Tensor], Tensor],
    z0: Tensor,
    max_iter: int = 50,
    tol: float = 1e-4,
    *,
    solver: str = "anderson",
    stop_mode: str = "rel",
    warn: bool = True,
    **options: Any,
) -> tuple[Tensor, SolverStats]:
    r"""Find :math:`\mathbf{z}^\star = f(\mathbf{z}^\star)` starting from ``z0``.

    The state is flattened to one vector for the solver and reshaped back for ``f``. The solver
    runs without autograd (no graph is built) and in at least float32: under autocast its own
    arithmetic runs in full precision, while ``f`` is called under the caller's autocast state
    and its output is cast back.

    Args:
        f (callable): Maps a tensor shaped like ``z0`` to one of the same shape.
        z0 (torch.Tensor): The initial iterate.
        max_iter (int, optional): Evaluations of ``f`` at most. (default: ``50``)
        tol (float, optional): Stop once the residual is at most ``tol``. (default: ``1e-4``)
        solver (str, optional): A registered solver name. (default: ``"anderson"``)
        stop_mode (str, optional): ``"rel"`` (residual relative to :math:`\|\mathbf{z}\|`) or
            ``"abs"``. (default: ``"rel"``)
        warn (bool, optional): Emit a :class:`ConvergenceWarning` when the solve does not
            converge. (default: ``True``)
        **options: Options of the solver (``tau``; ``m``, ``lam``, ``beta``; ``m``).

    Returns:
        ``(z, stats)``: the converged (or lowest-residual) iterate, shaped like ``z0``, in
        ``z0``'s dtype promoted to at least float32, and a :class:`SolverStats`.
    """
    fn = get_solver(solver)
    if max_iter < 1:
        raise ValueError(f"max_iter={max_iter} must be at least 1")
    if not tol >= 0:
        raise ValueError(f"tol={tol} must be non-negative")
    stop_mode = resolve_name(stop_mode, STOP_MODES, "stop_mode")
    if not z0.is_floating_point():
        raise TypeError(f"z0 must be a floating-point tensor, got {z0.dtype}")
    shape = z0.shape
    dtype = torch.promote_types(z0.dtype, torch.float32)
    amp = AutocastState.capture(z0.device)

    def flat_f(v: Tensor) -> Tensor:
        with amp.enter():
            out = f(v.view(shape))
        if out.shape != shape:
            raise ValueError(
                f"f must return the shape of z0 {tuple(shape)}, got {tuple(out.shape)}"
            )
        return out.reshape(-1).to(dtype)

    with torch.no_grad(), autocast_disabled(("cpu", z0.device.type)):
        z, stats = fn(
            flat_f,
            z0.detach().reshape(-1).to(dtype),
            max_iter=max_iter,
            tol=tol,
            stop_mode=stop_mode,
            **options,
        )
    if warn and not stats.converged:
        warnings.warn(convergence_message(stats), ConvergenceWarning, stacklevel=2)
    return z.view(shape), stats
