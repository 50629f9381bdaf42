r"""Dropout whose mask comes from one uniform draw per element.

.. math::

    \mathrm{dropout}(\mathbf{x})_j = \frac{\mathbf{1}[u_j \ge p]}{1 - p} \, \mathbf{x}_j,
    \qquad u_j \sim \mathcal{U}[0, 1),

the distribution of :func:`torch.nn.functional.dropout` (Srivastava et al., JMLR 2014). On
CPU, torch draws that mask with ``bernoulli_`` into a float tensor (about 15 ns an element,
and autograd keeps the 4-byte mask). Here the uniforms come from ``torch.rand`` (fp32, so
:math:`p` is resolved to :math:`2^{-24}`), one compiled kernel
(:class:`~revgnn.utils.compile.CompiledKernel`; eager without compilation) turns them into
the output in one pass, and autograd keeps a 1-byte mask. The uniforms are drawn eagerly: a
whole dropout compiled with inductor's own CPU random numbers took 0.92 / 37 ms on the tensors
below, against 0.28 / 15 ms for the eager draw and one multiply. Measured on one
core (Cora's 2,708 x 32 activations / its 2,708 x 1,433 features, forward): torch 1.2 / 51 ms,
this 0.40 / 19 ms (eager 0.58 / 32 ms). On devices other than CPU this is torch's own dropout
(one fused kernel on CUDA).

The mask is drawn from torch's default generator on ``x``'s device, so seeding and the RNG
replay of reversible blocks (:mod:`revgnn.nn.rev_stack`) work as with torch's dropout; the
masks themselves differ from torch's for the same seed. Large tensors draw their uniforms a
chunk at a time, so the fp32 draws never all exist at once.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from revgnn.utils.checks import check_probability
from revgnn.utils.compile import CompiledKernel, compile_supported

__all__ = ["Dropout", "dropout", "dropout_mask"]


#: Uniforms drawn at a time: the fp32 draws of a large tensor (a big graph's input features)
#: would otherwise be a transient 4 bytes an element on top of the output and the mask.
_CHUNK = 1 << 20


def _scaled(x: Tensor, u: Tensor, p: float, scale: float) -> Tensor:
    """The dropped-out ``x`` from uniforms ``u`` of ``x``'s shape (one vectorised pass when
    compiled; the boolean mask is formed outside the kernel, where inductor's bool stores are
    slow)."""
    return torch.where(u >= p, x * scale, torch.zeros_like(x))


_SCALED = CompiledKernel(_scaled)


def _drop(x: Tensor, p: float, scale: float, want_keep: bool) -> tuple[Tensor, Tensor | None]:
    kernel = _SCALED if compile_supported(x) else _scaled
    # The kernel gets base-less tensors (detach): dynamo 2.13 fails on a view whose base has
    # another rank than the views it compiled for (IndexError in automatic dynamic strides;
    # a sparse matrix's values, or chunks of a large tensor, after 2-D activations).
    x = x.detach()
    # fp32 draws whatever x's dtype: a bf16 uniform would resolve p to 2^-8.
    if x.numel() <= _CHUNK:
        u = torch.rand(x.shape, device=x.device)
        return kernel(x, u, p, scale), (u >= p if want_keep else None)
    flat = x.reshape(-1)
    out = torch.empty_like(flat)
    keep = torch.empty(flat.shape, dtype=torch.bool, device=x.device) if want_keep else None
    for start in range(0, flat.numel(), _CHUNK):
        part = flat[start : start + _CHUNK].detach()
        u = torch.rand(part.shape, device=x.device)
        out[start : start + _CHUNK] = kernel(part, u, p, scale)
        if keep is not None:
            torch.ge(u, p, out=keep[start : start + _CHUNK])
        del u
    return out.view(x.shape), keep.view(x.shape) if keep is not None else None


class _Dropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, p: float) -> Tensor:
        ctx.scale = 1.0 / (1.0 - p)
        out, keep = _drop(x, p, ctx.scale, want_keep=True)
        ctx.save_for_backward(keep)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (keep,) = ctx.saved_tensors
        # Differentiable torch ops: a second derivative (create_graph=True) stays right.
        return grad.mul(keep).mul_(ctx.scale), None


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element of ``x`` with probability ``p`` and scale the rest by
    :math:`1 / (1 - p)` (identity when not ``training`` or ``p == 0``).

    Args:
        x (torch.Tensor): Any floating-point tensor.
        p (float, optional): Probability of an element being zeroed, in ``[0, 1)``.
            (default: ``0.5``)
        training (bool, optional): Apply dropout. (default: ``True``)

    Shapes:
        - **input:** any shape.
        - **output:** the input's shape and dtype.
    """
    check_probability("p", p)
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    if torch.is_grad_enabled() and x.requires_grad:
        return _Dropout.apply(x, p)
    return _drop(x, p, 1.0 / (1.0 - p), want_keep=False)[0]


def dropout_mask(like: Tensor, p: float) -> Tensor:
    """A mask of ``like``'s shape, dtype and device, already scaled: ``x * mask`` is
    ``dropout(x, p)`` (one mask applied to several tensors, as
    :class:`~revgnn.nn.SharedDropout` does)."""
    if like.device.type != "cpu":
        return torch.empty_like(like).bernoulli_(1.0 - p).div_(1.0 - p)
    return _drop(torch.ones_like(like), p, 1.0 / (1.0 - p), want_keep=False)[0]


class Dropout(nn.Dropout):
    r""":class:`torch.nn.Dropout` drawing its mask as :func:`dropout` does (3-4x faster on
    CPU, the same distribution).

    Args:
        p (float, optional): Probability of an element being zeroed. (default: ``0.5``)

    Shapes:
        - **input:** any shape.
        - **output:** the input's shape.
    """

    def __init__(self, p: float = 0.5) -> None:
        check_probability("p", p)
        super().__init__(p)

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training)
