r"""Root solvers for deep equilibrium models, as plain functions.

Each solver looks for a fixed point :math:`\mathbf{z}^\star = f(\mathbf{z}^\star)` and returns
``(z, stats)``. The whole state, e.g. all :math:`N \times D` node features of a graph, is
treated as **one** vector: norms, the stopping test and the solver's inner products run over
all entries at once. Generic DEQ libraries batch over the first dimension instead, which for a
graph state of shape :math:`[N, D]` solves :math:`N` uncoupled problems although the nodes are
coupled through the edges (and torchdeq's Broyden backward then returns NaN gradients).

The residual of an iterate is :math:`\|f(\mathbf{z}) - \mathbf{z}\| / \|\mathbf{z}\|`
(``stop_mode="rel"``, the default) or :math:`\|f(\mathbf{z}) - \mathbf{z}\|`
(``stop_mode="abs"``), with Frobenius norms over the whole state. A solve stops as soon as an
iterate's residual is at most ``tol`` and returns that iterate; when ``max_iter`` evaluations of
:math:`f` do not get there, or :math:`f` returns non-finite values, it returns the iterate with
the lowest residual seen and records ``converged=False``.

Built-in solvers (``solver=`` name in :func:`solve`):

* ``"fixed_point"``: damped fixed-point iteration
  :math:`\mathbf{z}_{k+1} = (1 - \tau)\mathbf{z}_k + \tau f(\mathbf{z}_k)`;
* ``"anderson"``: Anderson acceleration with memory :math:`m` and Tikhonov regularisation
  :math:`\lambda` (Walker and Ni, "Anderson acceleration for fixed-point iterations", 2011);
* ``"broyden"``: limited-memory "good" Broyden's method on :math:`g(\mathbf{z}) =
  f(\mathbf{z}) - \mathbf{z}` (Broyden, 1965; as in Bai, Kolter, Koltun, "Deep Equilibrium
  Models", NeurIPS 2019).

:func:`register_solver` adds a solver under a new name (one file in this package: every
module here is imported); it receives ``f`` and ``z0`` as flat vectors and can use
:class:`ResidualMonitor` for the residual bookkeeping.
"""

import importlib
import pkgutil

from revgnn.solvers.anderson import anderson
from revgnn.solvers.broyden import broyden
from revgnn.solvers.fixed_point import fixed_point
from revgnn.solvers.monitor import ResidualMonitor
from revgnn.solvers.registry import (
    STOP_MODES,
    available_solvers,
    canonical_solver,
    get_solver,
    register_solver,
)
from revgnn.solvers.solve import solve
from revgnn.solvers.stats import ConvergenceWarning, SolverStats, convergence_message

# Solvers added as files register themselves on import.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "STOP_MODES",
    "ConvergenceWarning",
    "ResidualMonitor",
    "SolverStats",
    "anderson",
    "available_solvers",
    "broyden",
    "canonical_solver",
    "convergence_message",
    "fixed_point",
    "get_solver",
    "register_solver",
    "solve",
]
