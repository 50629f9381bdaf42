"""Residual bookkeeping shared by the solvers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from revgnn.solvers.stats import SolverStats

__all__ = ["ResidualMonitor"]


@dataclass
class ResidualMonitor:
    """Residual bookkeeping shared by the solvers: the trace, the best iterate, the stop test.

    Call :meth:`update` with every evaluated pair :math:`(\\mathbf{z}, f(\\mathbf{z}))`; it
    returns ``True`` when the solver should stop (converged, or non-finite values). Then
    :meth:`result` gives the iterate to return and its :class:`SolverStats`.

    Args:
        solver (str): The solver's name, for the stats.
        tol (float): The tolerance.
        stop_mode (str): ``"rel"`` or ``"abs"``.
    """

    solver: str
    tol: float
    stop_mode: str = "rel"
    residuals: list[float] = field(default_factory=list)
    best: Tensor | None = None
    best_residual: float = math.inf
    best_iteration: int = -1
    diverged: bool = False

    def residual(self, z: Tensor, fz: Tensor) -> float:
        """The residual of ``z`` (over all entries; one device synchronisation)."""
        # float64 norms: a float32 norm of a large finite state can overflow.
        norms = [torch.linalg.vector_norm(t, dtype=torch.float64) for t in (fz - z, z)]
        diff, norm = torch.stack(norms).tolist()
        if self.stop_mode == "abs" or not math.isfinite(diff):
            return diff
        if norm == 0.0:
            return 0.0 if diff == 0.0 else math.inf
        return diff / norm

    def update(self, z: Tensor, fz: Tensor, copy: bool = False) -> bool:
        """Record ``z``'s residual; keep ``z`` (cloned when ``copy``) if it is the best so far.

        Pass ``copy=True`` when the solver will modify ``z`` in place later.
        """
        r = self.residual(z, fz)
        if math.isnan(r) or (r == math.inf and not torch.isfinite(fz).all()):
            self.residuals.append(math.inf)
            self.diverged = True
            return True
        self.residuals.append(r)
        if r < self.best_residual or self.best is None:
            self.best_residual = r
            self.best_iteration = len(self.residuals) - 1
            self.best = z.clone() if copy else z
        return r <= self.tol

    def result(self, fallback: Tensor) -> tuple[Tensor, SolverStats]:
        """The lowest-residual iterate (``fallback`` if none was finite) and the stats."""
        z = self.best if self.best is not None else fallback
        stats = SolverStats(
            solver=self.solver,
            iterations=len(self.residuals),
            residuals=list(self.residuals),
            converged=self.best_residual <= self.tol,
            best_residual=self.best_residual,
            best_iteration=self.best_iteration,
            tol=self.tol,
            stop_mode=self.stop_mode,
            diverged=self.diverged,
        )
        return z, stats
