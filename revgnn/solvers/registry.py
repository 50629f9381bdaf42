"""Solvers by name: register one, look one up."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from revgnn.solvers.stats import SolverStats
from revgnn.utils.registry import Registry, resolve_name

__all__ = [
    "SOLVERS",
    "STOP_MODES",
    "Solver",
    "available_solvers",
    "canonical_solver",
    "get_solver",
    "register_solver",
]


#: A solver: ``solver(f, z0, max_iter=..., tol=..., stop_mode=..., **options)``.
Solver = Callable[..., tuple[Tensor, SolverStats]]
#: Residual kinds: relative to the iterate's norm, or absolute.
STOP_MODES = ("rel", "abs")
#: Every registered solver, by name.
SOLVERS: Registry[Solver] = Registry("solver")


def register_solver(name: str) -> Callable[[Solver], Solver]:
    """Decorator registering a solver under ``name`` for :func:`solve`.

    The solver is called as ``solver(f, z0, max_iter=..., tol=..., stop_mode=..., **options)``
    with ``z0`` a flat (1-D) floating-point vector and ``f`` mapping such vectors to such
    vectors, already in the solver's dtype, under ``torch.no_grad()``. It evaluates ``f`` at
    most ``max_iter`` times and returns ``(z, SolverStats)``; :class:`ResidualMonitor` does the
    bookkeeping::

        @register_solver("halving")
        def halving(f, z0, max_iter, tol, stop_mode="rel"):
            monitor = ResidualMonitor("halving", tol, stop_mode)
            z = z0
            for _ in range(max_iter):
                fz = f(z)
                if monitor.update(z, fz):
                    break
                z = 0.5 * (z + fz)
            return monitor.result(z0)
    """

    return SOLVERS.register(name)


def available_solvers() -> list[str]:
    """Names of the registered solvers."""
    return SOLVERS.names()


def canonical_solver(name: str, arg: str = "solver") -> str:
    """The registered spelling of the solver ``name`` (``"Fixed-Point"`` ->
    ``"fixed_point"``); an unknown name is a ``ValueError`` naming ``arg``."""
    try:
        return resolve_name(name, SOLVERS.names(), arg)
    except ValueError as e:
        raise ValueError(f"{e} (add one with revgnn.solvers.register_solver)") from None


def get_solver(name: str) -> Solver:
    """The solver registered under ``name`` (any spelling :func:`canonical_solver` takes)."""
    return SOLVERS[canonical_solver(name)]
