"""Damped fixed-point iteration."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from revgnn.solvers.monitor import ResidualMonitor
from revgnn.solvers.registry import register_solver
from revgnn.solvers.stats import SolverStats

__all__ = ["fixed_point"]


@register_solver("fixed_point")
def fixed_point(
    f: Callable[[Tensor], Tensor],
    z0: Tensor,
    max_iter: int,
    tol: float,
    stop_mode: str = "rel",
    tau: float = 1.0,
) -> tuple[Tensor, SolverStats]:
    r"""Damped fixed-point iteration :math:`\mathbf{z}_{k+1} = (1 - \tau)\mathbf{z}_k +
    \tau f(\mathbf{z}_k)`; converges when :math:`f` is a contraction (for :math:`\tau < 1`
    also for some maps whose Jacobian has eigenvalues :math:`\le -1`).

    Args:
        tau (float, optional): Step size :math:`\tau \in (0, 1]`; ``1`` is plain iteration.
            (default: ``1.0``)
    """
    if not 0.0 < tau <= 1.0:
        raise ValueError(f"tau={tau} must lie in (0, 1]")
    monitor = ResidualMonitor("fixed_point", tol, stop_mode)
    z = z0
    for _ in range(max_iter):
        fz = f(z)
        if monitor.update(z, fz):
            break
        z = fz if tau == 1.0 else torch.lerp(z, fz, tau)
    return monitor.result(z0)
