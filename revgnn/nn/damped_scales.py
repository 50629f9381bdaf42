r"""The arithmetic of a damped reversible stream (see :mod:`revgnn.nn.rev_stack`).

A damped coupling :math:`\mathbf{X}'_i = (1 - d)\,\mathbf{X}_i + f_i(\cdot)` is run as an
addition on the stream :math:`\mathbf{S} = \mathbf{X} / c_l`, with :math:`c_l = (1 - d)^l`.

**Range.** That factor leaves every float's range in a deep stack (:math:`0.75^{1001} \approx
10^{-125}`: an fp32 increment :math:`f / c_l` overflows from about 300 blocks at :math:`d =
0.25`, 64 blocks at :math:`d = 0.75`), so whenever :math:`c` falls below :data:`RESCALE_BELOW`
the stream is multiplied by the power of two that brings :math:`c` back to :math:`[1/2, 1)`: an
exact multiplication, undone exactly in the backward pass (:func:`damped_scales`).

**Exactness.** A damped coupling contracts: each block shrinks the older increments by
:math:`1 - d` next to the newest, so in floating point their low bits are rounded away, and the
inverse, an expansion, amplifies that loss (measured without a remedy: a 64-block GCNII stack at
:math:`d = 0.25` on Cora had gradients 1.8e-3 off the plain run; a generic 100-block stack at
:math:`d = 0.5` was off entirely). An fp64 stream is therefore kept on a fixed-point grid: the
input and every increment are rounded to a multiple of one power of two, the grid step
:math:`q`, so while :math:`|\mathbf{S}| < 2^{53} q` every addition is exact, and so is every
subtraction of the rebuild, at any depth (MacKay et al., *Reversible Recurrent Neural
Networks*, NeurIPS 2018, make forgetting reversible with fixed-point arithmetic in the same
way). The step is the finest one that leaves room for the stack's growth,
:math:`(1 - d)^{-L}`, and :data:`HEADROOM_BITS` more (:func:`grid_step`), and never coarser
than :data:`COARSEST_GRID_BITS` below the stream's largest magnitude: the rounding is far
below fp32's in a short stack, about :math:`10^{-6}` of the largest activation in the
default 64-block one. When the stream nears :math:`2^{53}` steps anyway (growth beyond the
headroom, or a stack whose growth no grid holds, such as :math:`d = 0.75` over 100 blocks), the
stack keeps an exact copy of it and moves to a coarser grid (:func:`needs_regrid`); a block
whose own sums may have rounded (:func:`overflowed`) keeps its exact input, and its rebuild
restarts from it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "COARSEST_GRID_BITS",
    "HEADROOM_BITS",
    "RESCALE_BELOW",
    "SIGNIFICAND_BITS",
    "damped_scales",
    "grid_before",
    "grid_step",
    "grid_steps",
    "increment",
    "increment_units",
    "largest_magnitude",
    "needs_regrid",
    "on_grid",
    "on_grid_",
    "overflowed",
    "planned_regrids",
    "snapshot_interval",
    "snapshot_layers",
]

#: The smallest factor a damped stream keeps before it is rescaled: an fp32 increment
#: :math:`f / c` then stays far from overflow, and its gradient far from underflow.
RESCALE_BELOW = 2.0**-16

#: fp64's significand: sums of multiples of a step :math:`q` below :math:`2^{53} q` are exact.
SIGNIFICAND_BITS = 53

#: The coarsest grid, in bits below the stream's largest magnitude when it is set.
COARSEST_GRID_BITS = 20

#: How much the activations' largest magnitude may grow over a stack (:math:`2^4`) before
#: its grid is full.
HEADROOM_BITS = 4


def _growth_bits(keep: float) -> float:
    """The stream's growth through one block of coupling factor ``keep``, in bits."""
    return -math.log2(keep)


def _regrid_bits(keep: float) -> int:
    # Regridding before a block whose stream has reached 2^this steps leaves the block 2 bits
    # (4x) of growth of its own besides the damping's before the sums could be inexact.
    return SIGNIFICAND_BITS - math.ceil(_growth_bits(keep)) - 2


def grid_step(amax: float, keep: float, blocks_left: int) -> float:
    r"""The grid step (a power of two) of a stream whose largest magnitude is ``amax``, with
    ``blocks_left`` blocks of coupling factor ``keep`` to run: the finest that holds their
    growth and :data:`HEADROOM_BITS` below :math:`2^{53}` steps, at most
    :data:`COARSEST_GRID_BITS` below ``amax``."""
    growth = math.ceil(blocks_left * _growth_bits(keep))
    bits = _regrid_bits(keep) - HEADROOM_BITS - growth
    bits = min(SIGNIFICAND_BITS - 1, max(COARSEST_GRID_BITS, bits))
    exponent = math.frexp(amax)[1] if math.isfinite(amax) and amax > 0 else 0
    return math.ldexp(1.0, exponent - bits)


def largest_magnitude(stream: Tensor) -> float:
    r""":math:`\max |S|` of a stream (0 for an empty one), without a :math:`|S|` temporary."""
    if stream.numel() == 0:
        return 0.0
    low, high = stream.aminmax()
    return max(-low.item(), high.item())


def grid_steps(shifts: list[float], grids: dict[int, float]) -> list[float | None]:
    """Each block's grid step, from the ``grids`` a forward pass moved to (keyed by block) and
    the stream's ``shifts`` (:func:`damped_scales`); ``None`` before the first grid."""
    out: list[float | None] = []
    step = None
    for li, shift in enumerate(shifts):
        step = grids.get(li, None if step is None else step * shift)
        out.append(step)
    return out


def grid_before(
    step: float | None, amax: float, keep: float, blocks_left: int
) -> tuple[float, bool]:
    """The grid step of the next block's sums, and whether the stream moves to it first (is
    rounded to it): the current ``step`` while the stream of largest magnitude ``amax`` fits
    it, else a new :func:`grid_step` for the ``blocks_left`` blocks (``step=None``: none yet)."""
    if step is not None and not needs_regrid(amax, step, keep):
        return step, False
    return grid_step(amax, keep, blocks_left), True


def needs_regrid(amax: float, step: float, keep: float) -> bool:
    """Whether a stream of largest magnitude ``amax`` on grid ``step`` must move to a coarser
    grid before the next block of coupling factor ``keep``."""
    return math.isfinite(amax) and amax >= math.ldexp(step, _regrid_bits(keep))


def overflowed(amax: float, step: float) -> bool:
    """Whether a block whose output stream reached ``amax`` on grid ``step`` may have rounded
    (its increments no longer lie within :math:`2^{52}` steps)."""
    return math.isfinite(amax) and amax >= math.ldexp(step, SIGNIFICAND_BITS - 2)


def _rounded(t: Tensor, step: float, inplace: bool = False) -> Tensor:
    # Exact in t's dtype: the products are by powers of two, and a quotient too large for
    # its integer part to be rounded is an integer already. Outside fp32's normal range the
    # step is applied in fp64 (a copy, so only for out-of-place calls).
    if t.dtype != torch.float64 and not 2.0**-100 < step < 2.0**100:
        t, inplace = t.double(), True
    return (t.mul_(1.0 / step) if inplace else t * (1.0 / step)).round_().mul_(step)


class _OnGrid(torch.autograd.Function):
    # The rounding's gradient is the identity (a straight-through estimator): the forward
    # value is the rounded one, the backward pass the unrounded computation's.
    @staticmethod
    def forward(ctx: Any, t: Tensor, step: float) -> Tensor:
        return _rounded(t, step)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


def on_grid(t: Tensor, step: float | None) -> Tensor:
    """``t`` rounded to a multiple of ``step`` (a power of two), with the identity as its
    gradient; ``t`` itself for ``step=None``."""
    if step is None:
        return t
    if torch.is_grad_enabled() and t.requires_grad:
        return _OnGrid.apply(t, step)
    return _rounded(t, step)


def increment(z: Tensor, scale: float, dtype: torch.dtype) -> Tensor:
    """A block's increment :math:`z / c` (``scale`` :math:`= c`), divided in ``dtype``, the
    compute dtype (an fp16 ``z`` from autocast would overflow at :math:`1 / c`); ``z`` itself
    for :math:`c = 1`."""
    return z if scale == 1.0 else z.to(dtype) / scale


def increment_units(
    z: Tensor, scale: float, step: float | None, dtype: torch.dtype
) -> tuple[Tensor, float]:
    r"""A block's increment :math:`z / c` (``scale`` :math:`= c`; divided in ``dtype`` unless
    :math:`c = 1`) on the grid of ``step``, outside autograd, as ``(units, unit)``: the
    increment is exactly ``units * unit``, so a stream adds it as ``add(units, alpha=unit)``.

    The same bits as ``on_grid(increment(z, scale, dtype), step)`` in two passes fewer: a product
    by a power of two is exact (in range), so :math:`\mathrm{round}(\mathrm{fl}(z / c) /
    q) = \mathrm{round}(\mathrm{fl}(z / (\mathrm{fl}(c)\,q)))`, and ``units * unit``, a
    product by a power of two as well, adds with a single rounding either way. Where the
    step or the divisor leaves that range, the increment itself (``unit = 1``)."""
    direct = step is not None and 2.0**-100 < step < 2.0**100
    if direct and scale == 1.0:
        return (z * (1.0 / step)).round_(), step
    divisor = _grid_divisor(scale, step, dtype) if direct else None
    if divisor is None:
        return on_grid(increment(z, scale, dtype), step), 1.0
    return (z.to(dtype) / divisor).round_(), step


@functools.lru_cache(maxsize=4096)
def _grid_divisor(scale: float, step: float, dtype: torch.dtype) -> float | None:
    # fl(c) * q: the scale as the division rounds it (to dtype), times the power of two.
    divisor = torch.tensor(scale, dtype=dtype).item() * step
    info = torch.finfo(dtype)
    return divisor if info.tiny <= divisor <= info.max else None


def on_grid_(stream: Tensor, step: float) -> Tensor:
    """:func:`on_grid` in place, for a float64 stream outside autograd."""
    if stream.dtype != torch.float64:
        raise TypeError(f"on_grid_ rounds float64 streams in place, got {stream.dtype}")
    return _rounded(stream, step, inplace=True)


def planned_regrids(num_layers: int, keep: float) -> list[int]:
    """The blocks before which a stack regrids (one stream copy each), when its activations'
    largest magnitude stays constant: none for ``keep=1``. Growth beyond
    :data:`HEADROOM_BITS` adds regrids at run time."""
    if keep == 1.0:
        return []
    shifts, scales_in, _ = damped_scales(num_layers, keep)
    out: list[int] = []
    step = None
    for li in range(num_layers):
        step = None if step is None else step * shifts[li]
        amax = 1.0 / scales_in[li]  # the stream of activations of magnitude 1
        step, moved = grid_before(step, amax, keep, num_layers - li)
        if moved and li > 0:  # block 0's grid is the stack's input rounding, not a copy
            out.append(li)
    return out


def damped_scales(num_layers: int, keep: float) -> tuple[list[float], list[float], list[float]]:
    r"""The stream's schedule through ``num_layers`` blocks of coupling factor ``keep``
    (:math:`1 - d`).

    Returns:
        ``(shifts, scales_in, scales_out)``, one entry per block: the power of two the stream
        is multiplied by before the block (``1.0`` unless :math:`c` fell below
        :data:`RESCALE_BELOW`), and the factors from the stream to the activations at the
        block's input and output (:math:`c_{in} \cdot` ``keep``). All ``1.0`` for ``keep=1``
        (RevGNN's additive coupling).
    """
    if num_layers < 1:
        raise ValueError(f"num_layers={num_layers} must be at least 1")
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep={keep} must lie in (0, 1] (keep = 1 - damping)")
    shifts, scales_in, scales_out = [], [], []
    scale = 1.0
    for _ in range(num_layers):
        shift = 1.0
        if scale < RESCALE_BELOW:
            mantissa, exponent = math.frexp(scale)
            shift, scale = 2.0**exponent, mantissa
        shifts.append(shift)
        scales_in.append(scale)
        scale *= keep
        scales_out.append(scale)
    return shifts, scales_in, scales_out


def snapshot_interval(snapshot_every: int | None) -> int | None:
    """``snapshot_every``, checked: the interval of a stack's explicit stream snapshots."""
    if snapshot_every is not None and snapshot_every < 1:
        raise ValueError(f"snapshot_every={snapshot_every} must be at least 1 (or None)")
    return snapshot_every


def snapshot_layers(num_layers: int, interval: int | None) -> list[int]:
    """The blocks of a ``num_layers`` stack whose input is kept exactly: every ``interval``-th
    from ``interval`` on (none for ``interval=None``; block 0's input is the stack's own)."""
    return [] if not interval else list(range(interval, num_layers, interval))
