"""Anderson acceleration (Walker and Ni, 2011)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from revgnn.solvers.monitor import ResidualMonitor
from revgnn.solvers.registry import register_solver
from revgnn.solvers.stats import SolverStats

__all__ = ["anderson"]


@register_solver("anderson")
def anderson(
    f: Callable[[Tensor], Tensor],
    z0: Tensor,
    max_iter: int,
    tol: float,
    stop_mode: str = "rel",
    m: int = 5,
    lam: float = 1e-4,
    beta: float = 1.0,
) -> tuple[Tensor, SolverStats]:
    r"""Anderson acceleration (type II).

    With the last :math:`m` iterates :math:`\mathbf{z}_i` and residuals
    :math:`\mathbf{g}_i = f(\mathbf{z}_i) - \mathbf{z}_i`, the next iterate is

    .. math::

        \mathbf{z}_{k+1} = \sum_i \alpha_i \left(\mathbf{z}_i + \beta \mathbf{g}_i\right),
        \qquad \boldsymbol{\alpha} = \arg\min_{\mathbf{1}^\top\boldsymbol{\alpha} = 1}
        \Big\|\sum_i \alpha_i \mathbf{g}_i\Big\|^2 + \lambda' \|\boldsymbol{\alpha}\|^2,

    solved in closed form from the :math:`m \times m` Gram matrix
    :math:`H_{ij} = \mathbf{g}_i^\top \mathbf{g}_j` (in float64). The regularisation is relative,
    :math:`\lambda' = \lambda \max_i H_{ii}`, so it means the same for any state size and scale.
    Memory: :math:`2m` state-sized vectors.

    Args:
        m (int, optional): History size. (default: ``5``)
        lam (float, optional): Relative Tikhonov regularisation :math:`\lambda \ge 0`.
            (default: ``1e-4``)
        beta (float, optional): Mixing parameter :math:`\beta \in (0, 1]`. (default: ``1.0``)
    """
    if m < 1:
        raise ValueError(f"m={m} must be at least 1")
    if lam < 0:
        raise ValueError(f"lam={lam} must be non-negative")
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"beta={beta} must lie in (0, 1]")
    monitor = ResidualMonitor("anderson", tol, stop_mode)
    n = z0.numel()
    zs = z0.new_zeros(m, n)
    gs = z0.new_zeros(m, n)
    gram = torch.zeros(m, m, dtype=torch.float64, device=z0.device)
    z = z0
    for k in range(max_iter):
        fz = f(z)
        # z is never modified in place (the history holds copies), so no clone is needed.
        if monitor.update(z, fz):
            break
        slot = k % m
        zs[slot].copy_(z)
        torch.sub(fz, z, out=gs[slot])
        del fz
        size = min(k + 1, m)
        row = (gs[:size] @ gs[slot]).double()
        gram[slot, :size] = row
        gram[:size, slot] = row
        h = gram[:size, :size]
        reg = lam * h.diagonal().max().clamp_min(torch.finfo(torch.float64).tiny)
        eye = torch.eye(size, dtype=torch.float64, device=z0.device)
        rhs = torch.ones(size, 1, dtype=torch.float64, device=z0.device)
        w, info = torch.linalg.solve_ex(h + reg * eye, rhs)
        alpha = w.squeeze(1) / w.sum()
        if info.item() != 0 or not torch.isfinite(alpha).all():
            # A singular history (e.g. repeated iterates): take a plain damped step.
            alpha = torch.zeros_like(alpha)
            alpha[slot] = 1.0
        alpha = alpha.to(z0.dtype)
        z = alpha @ zs[:size] + beta * (alpha @ gs[:size])
    return monitor.result(z0)
