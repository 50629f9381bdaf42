"""What a fixed-point solve did, and the warning for one that did not converge."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ConvergenceWarning", "SolverStats", "convergence_message"]


class ConvergenceWarning(UserWarning):
    """A fixed-point solve stopped before its residual reached ``tol``."""


@dataclass
class SolverStats:
    """What one solve did.

    Attributes:
        solver: The solver's registered name.
        iterations: Evaluations of :math:`f` (the length of ``residuals``).
        residuals: The residual of every evaluated iterate, in order (``inf`` where it is not
            defined: a relative residual at :math:`\\mathbf{z} = 0`, or a non-finite
            :math:`f(\\mathbf{z})`).
        converged: Whether the returned iterate's residual is at most ``tol``.
        best_residual: The residual of the returned iterate (the lowest one seen).
        best_iteration: Its index in ``residuals``.
        tol: The tolerance asked for.
        stop_mode: ``"rel"`` or ``"abs"``.
        diverged: Whether :math:`f` returned non-finite values, which stopped the solve.
    """

    solver: str
    iterations: int
    residuals: list[float]
    converged: bool
    best_residual: float
    best_iteration: int
    tol: float
    stop_mode: str
    diverged: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def convergence_message(stats: SolverStats, what: str = "fixed-point solve") -> str:
    why = "f returned non-finite values" if stats.diverged else "max_iter reached"
    return (
        f"{what} ({stats.solver}) did not converge: best {stats.stop_mode} residual "
        f"{stats.best_residual:.3g} > tol={stats.tol:g} after {stats.iterations} evaluations "
        f"({why}); returning the lowest-residual iterate (iteration {stats.best_iteration})"
    )
