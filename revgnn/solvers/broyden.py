"""Limited-memory \"good\" Broyden's method (Broyden, 1965)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from revgnn.solvers.monitor import ResidualMonitor
from revgnn.solvers.registry import register_solver
from revgnn.solvers.stats import SolverStats

__all__ = ["broyden"]


@register_solver("broyden")
def broyden(
    f: Callable[[Tensor], Tensor],
    z0: Tensor,
    max_iter: int,
    tol: float,
    stop_mode: str = "rel",
    m: int = 30,
) -> tuple[Tensor, SolverStats]:
    r"""Limited-memory "good" Broyden's method for the root of
    :math:`g(\mathbf{z}) = f(\mathbf{z}) - \mathbf{z}`.

    Keeps an approximation :math:`\mathbf{B} = -\mathbf{I} + \sum_i \mathbf{u}_i
    \mathbf{v}_i^\top` of the inverse Jacobian of :math:`g` (starting at :math:`-\mathbf{I}`,
    i.e. a plain fixed-point step), steps :math:`\mathbf{z} \leftarrow \mathbf{z} -
    \mathbf{B} g(\mathbf{z})` and applies the rank-one update

    .. math::

        \mathbf{B} \leftarrow \mathbf{B} + \frac{(\Delta\mathbf{z} - \mathbf{B}\Delta g)
        \,\Delta\mathbf{z}^\top \mathbf{B}}{\Delta\mathbf{z}^\top \mathbf{B} \Delta g}.

    An update whose denominator is zero or not finite is skipped (a per-node implementation
    divides by zero there). The last ``m`` updates are kept (a ring buffer). Memory: :math:`2m`
    state-sized vectors.

    Args:
        m (int, optional): Number of rank-one updates kept. (default: ``30``)
    """
    if m < 1:
        raise ValueError(f"m={m} must be at least 1")
    monitor = ResidualMonitor("broyden", tol, stop_mode)
    n = z0.numel()
    us = z0.new_zeros(m, n)
    vs = z0.new_zeros(m, n)
    updates = 0
    z = z0
    fz = f(z)
    if monitor.update(z, fz) or max_iter <= 1:
        return monitor.result(z0)
    g = fz - z
    del fz
    for _ in range(1, max_iter):
        used = min(updates, m)
        # dz = -B g = g - U^T (V g)
        dz = g - us[:used].T @ (vs[:used] @ g) if used else g
        z_new = z + dz
        fz = f(z_new)
        if monitor.update(z_new, fz):
            break
        g_new = fz - z_new
        del fz
        dg = g_new - g
        # B dg = -dg + U^T (V dg);  v^T = dz^T B = -dz + V^T (U dz)
        b_dg = -dg + us[:used].T @ (vs[:used] @ dg) if used else -dg
        v = -dz + vs[:used].T @ (us[:used] @ dz) if used else -dz
        denom = v @ dg
        scale = v.norm() * dg.norm()
        if torch.isfinite(denom) and denom.abs() > 1e-12 * scale:
            slot = updates % m
            torch.div(dz - b_dg, denom, out=us[slot])
            vs[slot].copy_(v)
            updates += 1
        z, g = z_new, g_new
    return monitor.result(z0)
