r"""Dropout whose mask is a keyed hash of each element's index.

.. math::

    \mathrm{dropout}(\mathbf{x})_j = \frac{\mathbf{1}[u_j \ge p]}{1 - p} \, \mathbf{x}_j,
    \qquad u_j = 2^{-24} \left\lfloor h_k(j) / 2^8 \right\rfloor,

the distribution of :func:`torch.nn.functional.dropout` (Srivastava et al., JMLR 2014), with
:math:`p` resolved to :math:`2^{-24}`. :math:`h_k` is a keyed 32-bit integer hash (two rounds
of a multiply-xorshift bijection, keyed before each round) and :math:`k` two 32-bit keys
drawn from torch's default CPU generator once per call, in the spirit of counter-based
generators (Salmon et al., *Parallel random numbers: as easy as 1, 2, 3*, SC 2011): the
mask is a pure function of the keys and the element's index, so

* one compiled kernel (:class:`~revgnn.utils.compile.CompiledKernel`; eager without
  compilation, the same bits) computes the output in one pass, with no uniforms drawn and
  none stored: on one core, forward, 0.08 ms for Cora's 2,708 x 32 activations (0.26 ms when
  its uniforms came from ``torch.rand``; torch's own dropout 1.2 ms) and 5.4 ms for its
  2,708 x 1,433 features (19 ms; torch 51 ms). The eager path is slower (1.5 ms on the
  activations: its integer temporaries);
* the backward pass recomputes the mask from the keys instead of keeping it (16 bytes saved
  per call instead of a 1-byte mask an element);
* seeding the generator replays the keys, so the RNG replay of reversible blocks
  (:mod:`revgnn.nn.rev_stack`) works as with torch's dropout; the masks themselves differ
  from torch's for the same seed.

The index arithmetic stays below :math:`2^{63}` (32-bit lanes in int64), so it is exact in
every backend. Large tensors run a chunk at a time, so the eager path's integer temporaries
stay bounded. Under autocast and for fp16 / bf16 inputs the kernel runs in fp32 (the same
bits as the half-precision product). On devices other than CPU this is torch's own dropout
(one fused kernel on CUDA).

:func:`relu_dropout` is :math:`\mathrm{dropout}(\mathrm{ReLU}(\mathbf{x}))` as one autograd
node: it keeps its output, as ReLU alone would, and its gradient is the incoming one times
:math:`1 / (1 - p)` where that output is positive, with no mask to hash again and no ReLU node
(the same values and gradients, bit for bit; a 64-block GCNII epoch on Cora, training and
evaluation on one thread, took 0.94x the time of ReLU then dropout).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from revgnn.utils.autocast import autocast_disabled
from revgnn.utils.checks import check_probability
from revgnn.utils.compile import CompiledKernel, compile_supported

__all__ = ["Dropout", "act_dropout", "dropout", "dropout_mask", "relu_dropout"]


#: Elements per compiled kernel call (it fuses the index arithmetic: no temporaries).
_CHUNK = 1 << 20
#: Elements per eager call: its int64 temporaries (three of 8 bytes an element) stay small
#: next to the activations around them.
_EAGER_CHUNK = 1 << 15

_M32 = 0xFFFFFFFF
# Thomas Mueller's 32-bit hash multiplier: odd (so the round is a bijection) and below 2^31,
# so the products of 32-bit lanes stay below 2^63.
_MIX = 0x45D9F3B


def _mix(h: Tensor) -> Tensor:
    # In place: the eager path then holds two int64 temporaries, not one per operation.
    for _ in range(2):
        h.bitwise_xor_(h >> 16).mul_(_MIX).bitwise_and_(_M32)
    return h.bitwise_xor_(h >> 16)


def _masked(x: Tensor, keys: Tensor, offset: Tensor, threshold: int, scale: float) -> Tensor:
    """``x`` with the elements whose hash falls below ``threshold`` zeroed and the rest
    scaled; element ``j`` of ``x`` is element ``offset + j`` of the whole tensor."""
    idx = torch.arange(x.numel(), device=x.device, dtype=torch.int64).view(x.shape).add_(offset)
    high = (idx >> 32).add_(keys[1]).bitwise_and_(_M32)
    h = _mix(idx.bitwise_and_(_M32).bitwise_xor_(keys[0]))
    h = _mix(h.bitwise_xor_(high))
    del high
    return torch.where(h.bitwise_right_shift_(8) >= threshold, x * scale, torch.zeros_like(x))


_MASKED = CompiledKernel(_masked)


def _draw_keys() -> Tensor:
    return torch.randint(0, 1 << 32, (2,), dtype=torch.int64)


def _threshold(p: float) -> int:
    return round(p * (1 << 24))


def _apply(x: Tensor, keys: Tensor, threshold: int, scale: float) -> Tensor:
    # The kernel gets base-less tensors (detach): dynamo 2.13 fails on a view whose base has
    # another rank than the views it compiled for (IndexError in automatic dynamic strides;
    # a sparse matrix's values, or chunks of a large tensor, after 2-D activations).
    x = x.detach()
    keys = keys.to(x.device)
    # Elementwise work needs no autocast, and half-precision inputs run in fp32: the
    # product rounds to the same half value as a half-precision multiply, so the compiled
    # kernel serves them too (mixed-precision runs would otherwise take the slow eager path).
    with autocast_disabled([x.device.type]):
        work = x if x.dtype in (torch.float32, torch.float64) else x.float()
        kernel, chunk = (_MASKED, _CHUNK) if compile_supported(work) else (_masked, _EAGER_CHUNK)
        if work.numel() <= chunk:
            out = kernel(work, keys, torch.tensor(0, device=x.device), threshold, scale)
            return out.to(x.dtype)
        flat = work.reshape(-1)
        out = torch.empty_like(flat, dtype=x.dtype)
        for start in range(0, flat.numel(), chunk):
            offset = torch.tensor(start, device=x.device)
            part = flat[start : start + chunk].detach()
            out[start : start + chunk] = kernel(part, keys, offset, threshold, scale)
    return out.view(x.shape)


class _Dropout(torch.autograd.Function):
    # Linear and self-adjoint: the gradient is the same mask applied to the incoming
    # gradient, through this Function again, so a second derivative stays right.
    @staticmethod
    def forward(ctx: Any, x: Tensor, keys: Tensor, threshold: int, scale: float) -> Tensor:
        ctx.save_for_backward(keys)
        ctx.threshold, ctx.scale = threshold, scale
        return _apply(x, keys, threshold, scale)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
        (keys,) = ctx.saved_tensors
        return _Dropout.apply(grad, keys, ctx.threshold, ctx.scale), None, None, None


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
    keys, threshold, scale = _draw_keys(), _threshold(p), 1.0 / (1.0 - p)
    if torch.is_grad_enabled() and x.requires_grad:
        return _Dropout.apply(x, keys, threshold, scale)
    return _apply(x, keys, threshold, scale)


class _ReluDropout(torch.autograd.Function):
    # d/dx of dropout(relu(x)) is the scaled mask where relu(x) > 0, i.e. exactly where the
    # output is positive (the scale is positive and cannot round a positive value to zero):
    # ReLU's own backward on the output, the incoming gradient scaled first as dropout's is.
    @staticmethod
    def forward(ctx: Any, x: Tensor, keys: Tensor, threshold: int, scale: float) -> Tensor:
        out = _apply(torch.relu(x), keys, threshold, scale)
        ctx.save_for_backward(out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:
        (out,) = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(grad * ctx.scale, out, 0.0), None, None, None


def relu_dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """``dropout(relu(x), p, training)``, the same values, gradients and random draws, as one
    autograd node that saves only its output (see the module docstring).

    Shapes:
        - **input:** any shape.
        - **output:** the input's shape and dtype.
    """
    check_probability("p", p)
    if not training or p == 0.0 or x.device.type != "cpu":
        return dropout(torch.relu(x), p, training)
    keys, threshold, scale = _draw_keys(), _threshold(p), 1.0 / (1.0 - p)
    if torch.is_grad_enabled() and x.requires_grad:
        return _ReluDropout.apply(x, keys, threshold, scale)
    return _apply(torch.relu(x), keys, threshold, scale)


def act_dropout(x: Tensor, act: nn.Module | None, p: float, training: bool) -> Tensor:
    """``dropout(act(x), p, training)`` (``act=None``: the identity), through
    :func:`relu_dropout` when ``act`` is a :class:`torch.nn.ReLU`: what every pre-activation
    block and head calls.

    Shapes:
        - **input:** any shape.
        - **output:** ``act``'s output shape.
    """
    if type(act) is nn.ReLU:
        return relu_dropout(x, p, training)
    return dropout(act(x) if act is not None else x, p, training)


def dropout_mask(like: Tensor, p: float) -> Tensor:
    """A mask of ``like``'s shape, dtype and device, already scaled: ``x * mask`` is
    ``dropout(x, p)`` (one mask applied to several tensors, as
    :class:`~revgnn.nn.SharedDropout` does)."""
    if like.device.type != "cpu":
        return torch.empty_like(like).bernoulli_(1.0 - p).div_(1.0 - p)
    return _apply(torch.ones_like(like), _draw_keys(), _threshold(p), 1.0 / (1.0 - p))


class Dropout(nn.Dropout):
    r""":class:`torch.nn.Dropout` drawing its mask as :func:`dropout` does (faster on CPU,
    the same distribution).

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
