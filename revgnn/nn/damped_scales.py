r"""The scale schedule of a damped reversible stream (see :mod:`revgnn.nn.rev_stack`).

A damped coupling :math:`\mathbf{X}'_i = (1 - d)\,\mathbf{X}_i + f_i(\cdot)` is run as an exact
addition on the stream :math:`\mathbf{S} = \mathbf{X} / c_l`, with :math:`c_l = (1 - d)^l`. That
factor leaves every float's range in a deep stack (:math:`0.75^{1001} \approx 10^{-125}`: an
fp32 increment :math:`f / c_l` overflows from about 300 blocks at :math:`d = 0.25`, 64 blocks
at :math:`d = 0.75`), so whenever :math:`c` falls below :data:`RESCALE_BELOW` the stream is
multiplied by the power of two that brings :math:`c` back to :math:`[1/2, 1)`: an exact
multiplication, undone exactly in the backward pass.

A damped coupling contracts: each block shrinks the older increments by :math:`1 - d`, and over
many blocks their low bits no longer fit the fp64 stream beside the newest. The inverse, which
expands by :math:`1 / (1 - d)` per block, then amplifies those roundings (a 64-block GCNII stack
at :math:`d = 0.25` on Cora: gradients 1.8e-3 off the plain run; a generic 100-block stack at
:math:`d = 0.5`: off entirely). :func:`exact_span` is the number of blocks over which the
rebuild stays exact; a damped stack keeps an exact copy of its stream that often (one
:math:`N \times D` copy per span), so the backward pass restarts from it.
"""

from __future__ import annotations

import math

__all__ = [
    "EXACT_BITS",
    "RESCALE_BELOW",
    "damped_scales",
    "exact_span",
    "snapshot_interval",
    "snapshot_layers",
]

#: The smallest factor a damped stream keeps before it is rescaled: an fp32 increment
#: :math:`f / c` then stays far from overflow, and its gradient far from underflow.
RESCALE_BELOW = 2.0**-16

#: The growth :math:`\log_2 (1 - d)^{-k}` over which a damped stream rebuilds exactly. Measured
#: on 100-block stacks with unscaled GENConv branches at d = 0.1, 0.25, 0.5, 0.75: exact
#: (reconstruction and gradients equal to the plain run) with spans of 16 bits, off by 3e-12 to
#: O(1) with 20; 12 keeps a margin.
EXACT_BITS = 12.0


def exact_span(keep: float) -> int | None:
    """The number of blocks over which a stream of coupling factor ``keep`` (:math:`1 - d`)
    rebuilds exactly, ``None`` for ``keep=1`` (no limit: RevGNN's additive coupling).

    Examples: 28 at :math:`d = 0.25`, 12 at :math:`d = 0.5`, 78 at :math:`d = 0.1`.
    """
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep={keep} must lie in (0, 1] (keep = 1 - damping)")
    if keep == 1.0:
        return None
    return max(1, int(EXACT_BITS / -math.log2(keep)))


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


def snapshot_interval(snapshot_every: int | None, damping: float) -> int | None:
    """The interval of a stack's exact stream snapshots: ``snapshot_every``, or for a damped
    stack left unset its :func:`exact_span`. Raises when ``snapshot_every`` is longer than
    that span (the rebuild would be inexact)."""
    if snapshot_every is not None and snapshot_every < 1:
        raise ValueError(f"snapshot_every={snapshot_every} must be at least 1 (or None)")
    span = exact_span(1.0 - damping)
    if snapshot_every is not None and span is not None and snapshot_every > span:
        raise ValueError(
            f"snapshot_every={snapshot_every} is longer than the {span} blocks over which a "
            f"stream of damping={damping} rebuilds exactly: leave it unset (then {span}) or "
            f"use at most {span}"
        )
    return snapshot_every or span


def snapshot_layers(num_layers: int, interval: int | None) -> list[int]:
    """The blocks of a ``num_layers`` stack whose input is kept exactly: every ``interval``-th
    from ``interval`` on (none for ``interval=None``; block 0's input is the stack's own)."""
    return [] if not interval else list(range(interval, num_layers, interval))
