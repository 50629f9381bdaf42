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
  none stored: on one core, forward, through :func:`dropout`, 0.13 ms for Cora's 2,708 x 32
  activations (torch's own dropout 1.0 ms) and 4.2 ms for its 2,708 x 1,433 features (torch
  46 ms). The eager path is slower (1.0 ms on the activations: its integer temporaries);
* the backward pass recomputes the mask from the keys instead of keeping it (16 bytes saved
  per call instead of a 1-byte mask an element);
* seeding the generator replays the keys, so the RNG replay of reversible blocks
  (:mod:`revgnn.nn.rev_stack`) works as with torch's dropout; the masks themselves differ
  from torch's for the same seed.

The hash runs on 32-bit words in int32 tensors: the multiplications wrap modulo :math:`2^{32}`
(two's complement, in torch's kernels and in the compiled C++ alike) and the shifts are made
logical by a mask, so the words are those of the same hash in 64-bit lanes (a test checks
both kernels against it, past :math:`2^{31}` and :math:`2^{32}` elements), with half the
temporaries and vectorised multiplies: in 64-bit lanes the figures above were 0.16-0.19 ms,
5.3-5.5 ms and 1.2 ms. An element's index enters as its low 32 bits and, added to the second
key, its high bits. Large tensors run a chunk at a time, never across a multiple of
:math:`2^{32}` elements (the high bits are one word per chunk), so the eager path's integer
temporaries stay bounded. ReLU runs inside the kernel for :func:`relu_dropout`. Under
autocast and for fp16 / bf16 inputs the kernel runs in fp32 (the same bits as the
half-precision product). On devices other than CPU this is torch's own dropout (one fused
kernel on CUDA).

:func:`relu_dropout` is :math:`\mathrm{dropout}(\mathrm{ReLU}(\mathbf{x}))` as one autograd
node: it keeps its output, as ReLU alone would, and its gradient is the incoming one times
:math:`1 / (1 - p)` where that output is positive, with no mask to hash again and no ReLU node
(the same values and gradients, bit for bit; a 64-block GCNII epoch on Cora, training and
evaluation on one thread, took 0.94x the time of ReLU then dropout).
"""

from __future__ import annotations

import functools
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
#: Elements per eager call: its int32 temporaries (two of 4 bytes an element) stay small
#: next to the activations around them.
_EAGER_CHUNK = 1 << 16
#: Chunks never straddle a multiple of this: within one, an index's high 32 bits are constant.
_SPAN = 1 << 32

_M32 = 0xFFFFFFFF
# Thomas Mueller's 32-bit hash multiplier: odd, so the round is a bijection of 32-bit words.
_MIX = 0x45D9F3B


def _shift16(h: Tensor) -> Tensor:
    # A logical shift of the 32-bit word: int32's shift copies the sign bit.
    return (h >> 16) & 0xFFFF


def _mix(h: Tensor) -> Tensor:
    for _ in range(2):
        h = (h ^ _shift16(h)) * _MIX  # wraps modulo 2^32, as the word's multiply
    return h ^ _shift16(h)


def _masked(x: Tensor, words: Tensor, threshold: int, scale: Tensor) -> Tensor:
    """``x`` (``relu(x)`` where ``words[3]`` is not 0) with the elements whose hash falls
    below ``threshold`` zeroed and the rest multiplied by ``scale`` (0-dim, ``x``'s dtype: the
    product of a Python float, whose conversion the compiled call would repeat every time).
    ``words`` holds four 32-bit words (int32, wrapped): the low bits of the first element's
    index in the whole tensor, the first key, the second key plus the indices' high bits
    (constant within a chunk), and the ReLU flag, a tensor so that one compiled graph serves
    both (a Python flag is a guard)."""
    idx = torch.arange(x.numel(), device=x.device, dtype=torch.int32).view(x.shape)
    h = _mix((idx + words[0]) ^ words[1])
    h = _mix(h ^ words[2])
    kept = torch.where(words[3] != 0, torch.relu(x), x) * scale
    return torch.where(((h >> 8) & 0xFFFFFF) >= threshold, kept, torch.zeros_like(x))


_MASKED = CompiledKernel(_masked)


@functools.lru_cache(maxsize=64)
def _scale_tensor(scale: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    with torch.inference_mode(False):  # usable outside inference mode too
        return torch.tensor(scale, dtype=dtype, device=device)


def _draw_keys() -> Tensor:
    return torch.randint(0, 1 << 32, (2,), dtype=torch.int64)


def _threshold(p: float) -> int:
    return round(p * (1 << 24))


def _words(keys: list[int], start: int, relu: bool) -> Tensor:
    """:func:`_masked`'s words for the chunk that starts at element ``start``."""
    values = [start & _M32, keys[0], ((start >> 32) + keys[1]) & _M32]
    values = [v - (1 << 32) if v >= 1 << 31 else v for v in values]
    return torch.tensor([*values, int(relu)], dtype=torch.int32)


def _apply(x: Tensor, keys: Tensor, threshold: int, scale: float, relu: bool = False) -> Tensor:
    # The kernel gets base-less tensors (detach): dynamo 2.13 fails on a view whose base has
    # another rank than the views it compiled for (IndexError in automatic dynamic strides;
    # a sparse matrix's values, or chunks of a large tensor, after 2-D activations).
    x = x.detach()
    key_values = keys.tolist()
    # Elementwise work needs no autocast, and half-precision inputs run in fp32: the
    # product rounds to the same half value as a half-precision multiply, so the compiled
    # kernel serves them too (mixed-precision runs would otherwise take the slow eager path).
    with autocast_disabled([x.device.type]):
        work = x if x.dtype in (torch.float32, torch.float64) else x.float()
        kernel, chunk = (_MASKED, _CHUNK) if compile_supported(work) else (_masked, _EAGER_CHUNK)
        # Flat, base-less tensors in every call: a kernel sees one rank (dynamo compiles a
        # graph per rank: the 1-D chunks of a large input, and 2-D activations).
        flat = work.reshape(-1).detach()
        factor = _scale_tensor(scale, work.dtype, x.device)
        if work.numel() <= chunk:
            out = kernel(flat, _words(key_values, 0, relu).to(x.device), threshold, factor)
            return out.view(x.shape).to(x.dtype)
        out = torch.empty_like(flat, dtype=x.dtype)
        start = 0
        while start < flat.numel():
            end = min(start + chunk, flat.numel(), (start // _SPAN + 1) * _SPAN)
            words = _words(key_values, start, relu).to(x.device)
            part = flat[start:end].detach()
            out[start:end] = kernel(part, words, threshold, factor)
            start = end
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
        out = _apply(x, keys, threshold, scale, relu=True)
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
    return _apply(x, keys, threshold, scale, relu=True)


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
