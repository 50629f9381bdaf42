r"""A deep equilibrium layer whose memory does not depend on the number of solver iterations.

Implements the deep equilibrium model of Bai, Kolter, Koltun, `"Deep Equilibrium Models"
<https://arxiv.org/abs/1909.01377>`_ (NeurIPS 2019) for graph states, as used for the DEQ-GNN
of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000 Layers"
<https://arxiv.org/abs/2106.07476>`_ (ICML 2021). With input injection :math:`\mathbf{x}` the
layer's output is the equilibrium

.. math::

    \mathbf{z}^\star = f_\theta(\mathbf{z}^\star, \mathbf{x}).

**Forward.** A root solver (:mod:`revgnn.solvers`) finds :math:`\mathbf{z}^\star` without
autograd, treating all :math:`N \times D` entries as one vector; then :math:`f_\theta` is
applied once more with autograd, :math:`\mathbf{y} = f_\theta(\mathbf{z}^\star, \mathbf{x})`.
Only that application keeps tensors for the backward pass, so activation memory is that of one
application of :math:`f_\theta`, whatever the number of solver iterations.

**Backward** (``grad="implicit"``). By the implicit function theorem,
:math:`\partial\ell/\partial\theta = \mathbf{g}^\top \partial f_\theta/\partial\theta` with
:math:`\mathbf{g}` the fixed point of the adjoint equation

.. math::

    \mathbf{g} = \mathbf{J}_f(\mathbf{z}^\star)^\top \mathbf{g} + \frac{\partial\ell}{\partial
    \mathbf{y}},

solved by a solver of the same kind; each evaluation is one vector-Jacobian product through
the retained graph of the tracked application (for a reversible :math:`f_\theta` each one
recomputes the block instead of storing it). :math:`\mathbf{g}` then flows into that
application for the gradients of :math:`\theta` and :math:`\mathbf{x}`.

**Phantom gradients** (``grad="phantom"``; Geng et al., `"On Training Implicit Models"
<https://arxiv.org/abs/2111.05177>`_, NeurIPS 2021). From :math:`\mathbf{z}^\star`, :math:`k`
damped steps :math:`\mathbf{z} \leftarrow (1 - \tau)\mathbf{z} + \tau f_\theta(\mathbf{z},
\mathbf{x})` are run with autograd and differentiated as usual: cheaper than the adjoint solve,
an approximation of the implicit gradient, with memory of :math:`k` applications.

**Unrolled warm-up.** With ``unrolled=True`` the layer is a plain weight-tied network of
``unrolled_layers`` applications of :math:`f_\theta` from :math:`\mathbf{z}_0 = 0`; the RevGNN
paper trains its DEQ-GNN this way for the first epochs, then switches to the equilibrium.

Failure behaviour: a solve (forward or adjoint) that does not reach ``tol`` returns its
lowest-residual iterate, records it in :attr:`DEQ.forward_stats` / :attr:`DEQ.backward_stats`
and in the counters of :meth:`DEQ.metrics`, and warns once per layer and direction
(:class:`~revgnn.solvers.ConvergenceWarning`). Solvers never return non-finite iterates, so an
expansive :math:`f_\theta` gives finite (if inexact) gradients instead of NaN or inf.
Non-finite input raises a ``ValueError``.

Requirements on :math:`f_\theta`: it is called as ``f(z, x, *args, **kwargs)`` and returns a
tensor shaped like ``z``; it must be deterministic given its inputs (pass dropout masks as
arguments, e.g. :class:`~revgnn.nn.SharedDropout`, instead of drawing them inside). BatchNorm
running statistics are updated once per step (by the tracked application): the solver's
evaluations restore them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.deq.jacobian import jacobian_regularizer
from revgnn.solvers import ConvergenceWarning, SolverStats, convergence_message, solve
from revgnn.solvers.registry import STOP_MODES, canonical_solver
from revgnn.utils.autocast import compute_dtype
from revgnn.utils.checks import all_finite, check_finite
from revgnn.utils.modules import reset_module, restore_buffers
from revgnn.utils.registry import resolve_name
from revgnn.utils.warn import warn_user

__all__ = ["DEQ"]

GRAD_MODES = ("implicit", "phantom")


class DEQ(nn.Module):
    r"""A deep equilibrium layer :math:`\mathbf{z}^\star = f_\theta(\mathbf{z}^\star,
    \mathbf{x})` (see the module docstring for the equations and guarantees).

    Args:
        f (torch.nn.Module): The function :math:`f_\theta`, called as
            ``f(z, x, *args, **kwargs)``, returning a tensor shaped like ``x``.
        solver (str, optional): Forward solver (:func:`revgnn.solvers.available_solvers`).
            (default: ``"anderson"``)
        max_iter (int, optional): Forward evaluations of :math:`f` at most. (default: ``30``)
        tol (float, optional): Forward tolerance. (default: ``1e-3``)
        stop_mode (str, optional): ``"rel"`` or ``"abs"`` residuals, both directions.
            (default: ``"rel"``)
        solver_options (dict, optional): Options of the forward solver (e.g. ``{"m": 5}``).
        grad (str, optional): ``"implicit"`` or ``"phantom"``. (default: ``"implicit"``)
        backward_solver (str, optional): Adjoint solver; defaults to ``solver``.
        backward_max_iter (int, optional): Adjoint evaluations at most; defaults to
            ``max_iter``.
        backward_tol (float, optional): Adjoint tolerance; defaults to ``tol``.
        backward_options (dict, optional): Options of the adjoint solver; default to
            ``solver_options`` when the solvers are the same.
        phantom_steps (int, optional): Unrolled steps :math:`k` of phantom gradients.
            (default: ``5``)
        phantom_tau (float, optional): Damping :math:`\tau \in (0, 1]` of phantom gradients.
            (default: ``1.0``)
        unrolled_layers (int, optional): Depth of the unrolled weight-tied network used when
            :attr:`unrolled` is set (warm-up); ``None`` disables unrolled mode.
        unrolled (bool, optional): Start in unrolled mode. (default: ``False``)
        jac_reg_weight (float, optional): Weight :math:`w` of the Jacobian regulariser
            :math:`w \|\mathbf{J}_f(\mathbf{z}^\star)\|_F^2 / n` (:func:`jacobian_regularizer`),
            computed in training mode with ``grad="implicit"``. It is added to whatever loss
            is back-propagated through the layer's output, so a training loop need not know
            about it; its value is in :attr:`jac_loss`. Needs an :math:`f` that supports
            double backward. A ``GradScaler`` does not scale this term, so unscaling divides
            it by the scale: with fp16 loss scaling use ``jac_reg_weight`` times the scale, or
            bf16 without a scaler. (default: ``0.0``)
        jac_reg_samples (int, optional): Hutchinson probes. (default: ``1``)

    Shapes:
        - **input:** the injection :math:`\mathbf{x}` :math:`(N, D)`, then ``f``'s extra
          arguments.
        - **output:** :math:`(N, D)`, in the dtype :math:`f` returns.
    """

    def __init__(
        self,
        f: nn.Module,
        *,
        solver: str = "anderson",
        max_iter: int = 30,
        tol: float = 1e-3,
        stop_mode: str = "rel",
        solver_options: dict[str, Any] | None = None,
        grad: str = "implicit",
        backward_solver: str | None = None,
        backward_max_iter: int | None = None,
        backward_tol: float | None = None,
        backward_options: dict[str, Any] | None = None,
        phantom_steps: int = 5,
        phantom_tau: float = 1.0,
        unrolled_layers: int | None = None,
        unrolled: bool = False,
        jac_reg_weight: float = 0.0,
        jac_reg_samples: int = 1,
    ) -> None:
        super().__init__()
        solver = canonical_solver(solver, "solver")
        backward_solver = (
            solver
            if backward_solver is None
            else canonical_solver(backward_solver, "backward_solver")
        )
        grad = resolve_name(grad, GRAD_MODES, "grad")
        stop_mode = resolve_name(stop_mode, STOP_MODES, "stop_mode")
        if backward_options is None and backward_solver == solver:
            backward_options = solver_options
        self.f = f
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.stop_mode = stop_mode
        self.solver_options = dict(solver_options or {})
        self.grad = grad
        self.backward_solver = backward_solver
        self.backward_max_iter = max_iter if backward_max_iter is None else backward_max_iter
        self.backward_tol = tol if backward_tol is None else backward_tol
        self.backward_options = dict(backward_options or {})
        self.phantom_steps = phantom_steps
        self.phantom_tau = phantom_tau
        self.unrolled_layers = unrolled_layers
        self.jac_reg_weight = jac_reg_weight
        self.jac_reg_samples = jac_reg_samples
        for name, value in (("max_iter", max_iter), ("backward_max_iter", self.backward_max_iter)):
            if value < 1:
                raise ValueError(f"{name}={value} must be at least 1")
        for name, value in (("tol", tol), ("backward_tol", self.backward_tol)):
            if not value >= 0:
                raise ValueError(f"{name}={value} must be non-negative")
        if phantom_steps < 1:
            raise ValueError(f"phantom_steps={phantom_steps} must be at least 1")
        if not 0.0 < phantom_tau <= 1.0:
            raise ValueError(f"phantom_tau={phantom_tau} must lie in (0, 1]")
        if unrolled_layers is not None and unrolled_layers < 1:
            raise ValueError(f"unrolled_layers={unrolled_layers} must be at least 1")
        if jac_reg_weight < 0:
            raise ValueError(f"jac_reg_weight={jac_reg_weight} must be non-negative")
        if jac_reg_weight > 0 and grad != "implicit":
            raise ValueError(
                f"jac_reg_weight={jac_reg_weight} needs grad='implicit' (got grad={grad!r}): "
                "the regulariser is computed on the tracked application at the equilibrium"
            )
        if jac_reg_samples < 1:
            raise ValueError(f"jac_reg_samples={jac_reg_samples} must be at least 1")
        self._unrolled = False
        self.unrolled = unrolled
        self.forward_stats: SolverStats | None = None
        self.backward_stats: SolverStats | None = None
        self.jac_loss: float | None = None
        self.unconverged = {"forward": 0, "backward": 0}
        self._warned = {"forward": False, "backward": False}

    @property
    def unrolled(self) -> bool:
        """Whether the layer runs as an unrolled weight-tied network (warm-up)."""
        return self._unrolled

    @unrolled.setter
    def unrolled(self, value: bool) -> None:
        if value and self.unrolled_layers is None:
            raise ValueError("unrolled mode needs unrolled_layers (the warm-up depth)")
        self._unrolled = bool(value)

    def reset_parameters(self) -> None:
        reset_module(self.f)

    def metrics(self) -> dict[str, float]:
        """The last solves' figures, for logging: iterations, best residual, converged (1/0)
        for the forward and (after a backward pass) the adjoint solve, the counts of solves
        that did not converge, the last Jacobian regulariser value and the mode."""
        out: dict[str, float] = {"unrolled": float(self.unrolled)}
        for name, stats in (("forward", self.forward_stats), ("backward", self.backward_stats)):
            if stats is not None:
                out[f"{name}_iterations"] = float(stats.iterations)
                out[f"{name}_residual"] = float(stats.best_residual)
                out[f"{name}_converged"] = float(stats.converged)
            out[f"{name}_unconverged_total"] = float(self.unconverged[name])
        if self.jac_loss is not None:
            out["jac_loss"] = self.jac_loss
        return out

    def _record(self, direction: str, stats: SolverStats) -> None:
        setattr(self, f"{direction}_stats", stats)
        if stats.converged:
            return
        self.unconverged[direction] += 1
        if not self._warned[direction]:
            self._warned[direction] = True
            what = "DEQ forward solve" if direction == "forward" else "DEQ adjoint (backward) solve"
            # Attributed to the user's line (a forward call, or loss.backward()), not to
            # torch's Module.__call__ or the autograd engine.
            warn_user(
                convergence_message(stats, what)
                + f"; shown once per layer, see DEQ.metrics() for the count of such {direction}"
                " solves",
                ConvergenceWarning,
            )

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        what = "the equilibrium of non-finite input is undefined: check the data and encoder"
        check_finite("DEQ input x", x, what)
        for i, a in enumerate(args):
            check_finite(f"DEQ input args[{i}]", a, what)
        for k, a in kwargs.items():
            check_finite(f"DEQ input {k}", a, what)

        # The solver's state is at least fp32; a model cast to half precision takes its own.
        layer_dtype = compute_dtype(x)

        def f(z: Tensor) -> Tensor:
            return self.f(z.to(layer_dtype), x, *args, **kwargs)

        dtype = torch.promote_types(x.dtype, torch.float32)
        z0 = torch.zeros(x.shape, dtype=dtype, device=x.device)
        if self.unrolled:
            z = z0
            for _ in range(self.unrolled_layers):
                z = f(z)
            return z

        # The solver's evaluations must not move BatchNorm statistics: only the tracked
        # application below updates them, once per step as in any other layer.
        with restore_buffers(self.f):
            z_star, stats = solve(
                f,
                z0,
                self.max_iter,
                self.tol,
                solver=self.solver,
                stop_mode=self.stop_mode,
                warn=False,
                **self.solver_options,
            )
        self._record("forward", stats)
        self.jac_loss = None
        if not _needs_graph(x, args, kwargs, self.f):
            return f(z_star)
        if self.grad == "phantom":
            return self._phantom(f, z_star)
        z_leaf = z_star.detach().requires_grad_(True)
        out = f(z_leaf)
        y = _ImplicitGrad.apply(self, out, z_leaf)
        if self.jac_reg_weight > 0 and self.training:
            jac = jacobian_regularizer(out, z_leaf, self.jac_reg_samples, create_graph=True)
            self.jac_loss = jac.item()
            y = _AddLoss.apply(y, self.jac_reg_weight * jac)
        return y

    def _phantom(self, f: Callable[[Tensor], Tensor], z_star: Tensor) -> Tensor:
        z = z_star.detach()
        for step in range(self.phantom_steps):
            if step < self.phantom_steps - 1:
                with restore_buffers(self.f):
                    fz = f(z)
            else:
                fz = f(z)
            z = fz if self.phantom_tau == 1.0 else torch.lerp(z.to(fz.dtype), fz, self.phantom_tau)
        return z

    def adjoint(self, out: Tensor, z: Tensor, grad: Tensor) -> Tensor:
        r"""Solve :math:`\mathbf{g} = \mathbf{J}^\top \mathbf{g} + \text{grad}` through the graph
        from ``z`` to ``out`` (kept), from :math:`\mathbf{g}_0 = \text{grad}`; records the stats."""
        grad32 = grad.to(torch.promote_types(grad.dtype, torch.float32))

        def step(g: Tensor) -> Tensor:
            (vjp,) = torch.autograd.grad(
                out, z, g.to(out.dtype), retain_graph=True, allow_unused=True
            )
            return grad32 if vjp is None else vjp + grad32

        g, stats = solve(
            step,
            grad32,
            self.backward_max_iter,
            self.backward_tol,
            solver=self.backward_solver,
            stop_mode=self.stop_mode,
            warn=False,
            **self.backward_options,
        )
        self._record("backward", stats)
        return g

    def extra_repr(self) -> str:
        parts = [
            f"solver={self.solver!r}, max_iter={self.max_iter}, tol={self.tol:g}",
            f"grad={self.grad!r}",
        ]
        if self.grad == "implicit":
            parts.append(
                f"backward_solver={self.backward_solver!r}, "
                f"backward_max_iter={self.backward_max_iter}, backward_tol={self.backward_tol:g}"
            )
        else:
            parts.append(f"phantom_steps={self.phantom_steps}, phantom_tau={self.phantom_tau:g}")
        if self.unrolled_layers is not None:
            parts.append(f"unrolled_layers={self.unrolled_layers}, unrolled={self.unrolled}")
        if self.jac_reg_weight > 0:
            parts.append(f"jac_reg_weight={self.jac_reg_weight:g}")
        return ", ".join(parts)


def _needs_graph(x: Tensor, args: tuple, kwargs: dict, f: nn.Module) -> bool:
    if not torch.is_grad_enabled():
        return False
    tensors = [x, *args, *kwargs.values()]
    if any(isinstance(t, Tensor) and t.requires_grad for t in tensors):
        return True
    return any(p.requires_grad for p in f.parameters())


class _ImplicitGrad(torch.autograd.Function):
    """Identity on ``out = f(z*, x)`` whose backward replaces the incoming gradient by the
    solution of the adjoint fixed point, which then flows into ``f``'s graph."""

    @staticmethod
    def forward(ctx: Any, deq: DEQ, out: Tensor, z: Tensor) -> Tensor:
        ctx.deq = deq
        ctx.save_for_backward(out, z)
        return out.view_as(out)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        out, z = ctx.saved_tensors
        g = ctx.deq.adjoint(out, z, grad)
        if not all_finite(g):
            # Unreachable with the built-in solvers (they never return non-finite iterates);
            # a registered one might: fall back to the Jacobian-free gradient.
            g = grad
        return None, g.to(grad.dtype), None


class _AddLoss(torch.autograd.Function):
    """Returns ``y`` unchanged; its backward also back-propagates a unit gradient into
    ``loss``, i.e. adds ``loss`` to any objective computed from ``y``."""

    @staticmethod
    def forward(ctx: Any, y: Tensor, loss: Tensor) -> Tensor:
        ctx.loss_shape = loss.shape
        ctx.loss_dtype = loss.dtype
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        return grad, torch.ones(ctx.loss_shape, dtype=ctx.loss_dtype, device=grad.device)
