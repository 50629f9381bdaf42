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

:func:`register_solver` adds a solver under a new name; it receives ``f`` and ``z0`` as flat
vectors and can use :class:`ResidualMonitor` for the residual bookkeeping.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor

from revgnn.reversible import _AutocastState

__all__ = [
    "ConvergenceWarning",
    "ResidualMonitor",
    "SolverStats",
    "anderson",
    "available_solvers",
    "broyden",
    "fixed_point",
    "get_solver",
    "register_solver",
    "solve",
]

STOP_MODES = ("rel", "abs")


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


Solver = Callable[..., tuple[Tensor, SolverStats]]
_SOLVERS: dict[str, Solver] = {}


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

    def decorator(fn: Solver) -> Solver:
        if name in _SOLVERS:
            raise ValueError(f"a solver named {name!r} is already registered; choose another name")
        _SOLVERS[name] = fn
        return fn

    return decorator


def available_solvers() -> list[str]:
    """Names of the registered solvers."""
    return sorted(_SOLVERS)


def get_solver(name: str) -> Solver:
    """The solver registered under ``name``."""
    try:
        return _SOLVERS[name]
    except KeyError:
        raise ValueError(
            f"solver={name!r} is not registered; available: {available_solvers()} "
            "(add one with revgnn.solvers.register_solver)"
        ) from None


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


@contextlib.contextmanager
def _autocast_off(device: torch.device) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for t in {"cpu", device.type}:
            if torch.is_autocast_enabled(t):
                stack.enter_context(torch.autocast(t, enabled=False))
        yield


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
    if stop_mode not in STOP_MODES:
        raise ValueError(f"stop_mode={stop_mode!r} must be one of {STOP_MODES}")
    if not z0.is_floating_point():
        raise TypeError(f"z0 must be a floating-point tensor, got {z0.dtype}")
    shape = z0.shape
    dtype = torch.promote_types(z0.dtype, torch.float32)
    amp = _AutocastState.capture(z0.device)

    def flat_f(v: Tensor) -> Tensor:
        with amp.enter():
            out = f(v.view(shape))
        if out.shape != shape:
            raise ValueError(
                f"f must return the shape of z0 {tuple(shape)}, got {tuple(out.shape)}"
            )
        return out.reshape(-1).to(dtype)

    with torch.no_grad(), _autocast_off(z0.device):
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


def convergence_message(stats: SolverStats, what: str = "fixed-point solve") -> str:
    why = "f returned non-finite values" if stats.diverged else "max_iter reached"
    return (
        f"{what} ({stats.solver}) did not converge: best {stats.stop_mode} residual "
        f"{stats.best_residual:.3g} > tol={stats.tol:g} after {stats.iterations} evaluations "
        f"({why}); returning the lowest-residual iterate (iteration {stats.best_iteration})"
    )
