r"""The compiled path of the lean aggregation: the message function, the reduction and their
gradients as one kernel each way.

The eager lean path (:mod:`revgnn.nn.aggr.lean`) runs a chain of gather / exp / scatter passes
over :math:`E \times D` temporaries and back-propagates the message function with autograd.
Here an aggregator's ``fused_forward(src, dst, x, e, param, n, opts)`` and ``fused_backward(src,
dst, x, e, param, stats, g, n, opts)`` compute, in plain torch,

* forward: the messages :math:`\mathbf{m}_{vu} = \mathrm{act}(\mathbf{x}_u + \mathbf{e}_{vu})
  + \epsilon` (:func:`messages`) and the reduction, returning the output and the same per-node
  statistics as the eager ``lean_forward`` (so either backward may follow either forward);
* backward: the messages again, the gradient of the reduction with respect to them, the
  activation's mask, and the gradient of :math:`\mathbf{x}` as one scatter over the sources
  (:func:`push`), plus the gradient of the aggregator's parameter;

and :class:`~revgnn.utils.compile.CompiledKernel` compiles each (inductor fuses the gathers,
the arithmetic and the scatters into a few loops over the edges, without the temporaries). The
edge term :math:`\mathbf{e} = \mathbf{W} \mathbf{e}_{vu} + \mathbf{b}` (GENConv's edge
encoder) is a matrix product, left to the BLAS: :func:`fused_forward` / :func:`fused_backward`
form it and its gradients around the kernels. The path runs when the edges are all in one
slice (no ``chunk_size``) and :func:`~revgnn.utils.compile.compile_supported` holds;
otherwise the eager lean path runs, as it does with ``REVGNN_COMPILE=0``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from revgnn.utils.compile import CompiledKernel

__all__ = [
    "FusedOptions",
    "fused_backward",
    "fused_forward",
    "messages",
    "push",
    "segment_extreme",
    "segment_sum",
]


class FusedOptions(NamedTuple):
    """The constants of one fused aggregation (the compiled code specialises on them)."""

    relu: bool
    eps: float
    semi_grad: bool = False
    clamp_min: float | None = None
    clamp_max: float | None = None
    #: The sign of the power mean's p: "+" (all > 0), "-" (all < 0) or "+-" (per channel).
    sign: str = "+"
    want_x: bool = False
    want_e: bool = False
    want_param: bool = False


def messages(src: Tensor, x: Tensor | None, e: Tensor | None, relu: bool) -> Tensor:
    r""":math:`\mathrm{act}(\mathbf{x}_{src} + \mathbf{e})`, each term optional (no eps)."""
    h = x.index_select(0, src) if x is not None else None
    if e is not None:
        h = e if h is None else h + e
    return torch.relu(h) if relu else h


def push(
    src: Tensor, x: Tensor | None, e: Tensor | None, dm: Tensor, opts: FusedOptions
) -> tuple[Tensor | None, Tensor | None]:
    """Back-propagate ``dm``, the messages' gradient, through the activation: the gradient of
    ``x`` (one scatter over the sources) and of the edge term ``e`` (per edge)."""
    if opts.relu:
        pre = messages(src, x, e, relu=False)
        dm = torch.where(pre > 0, dm, torch.zeros_like(dm))
    gx = torch.zeros_like(x).index_add(0, src, dm) if opts.want_x and x is not None else None
    return gx, (dm if opts.want_e else None)


def segment_sum(values: Tensor, dst: Tensor, n: int) -> Tensor:
    """Per-node sums of the rows of ``values`` :math:`(E, D)` over the targets ``dst``."""
    return values.new_zeros((n, values.size(1))).index_add(0, dst, values)


def segment_extreme(values: Tensor, dst: Tensor, n: int, reduce: str) -> Tensor:
    """Per-node ``"amax"`` / ``"amin"`` of ``values``, 0 where a node has no in-edge (and
    where the extreme is infinite, as :class:`~revgnn.nn.aggr.lean.Extreme` gives)."""
    fill = float("-inf") if reduce == "amax" else float("inf")
    out = values.new_full((n, values.size(1)), fill)
    index = dst.view(-1, 1).expand_as(values)
    out = out.scatter_reduce(0, index, values, reduce, include_self=True)
    return torch.where(out.isinf(), torch.zeros_like(out), out)


_KERNELS: dict = {}


def _compiled(fn) -> CompiledKernel:
    kernel = _KERNELS.get(fn)
    if kernel is None:
        kernel = _KERNELS[fn] = CompiledKernel(fn, scatters=True)
    return kernel


def _edge_term(edge_attr: Tensor | None, weight: Tensor | None, bias: Tensor | None):
    if edge_attr is None or weight is None:
        return edge_attr
    return F.linear(edge_attr, weight, bias)


def fused_forward(
    kernel: type,
    src: Tensor | None,
    dst: Tensor,
    x: Tensor | None,
    edge_attr: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    param: Tensor | None,
    n: int,
    opts: FusedOptions,
) -> tuple[Tensor, list[Tensor]]:
    """``kernel``'s compiled forward: the output and the per-node statistics."""
    e = _edge_term(edge_attr, weight, bias)
    return _compiled(kernel.fused_forward)(src, dst, x, e, param, n, opts)


def fused_backward(
    kernel: type,
    saved: tuple,
    stats: list[Tensor],
    g: Tensor,
    n: int,
    opts: FusedOptions,
    wants: tuple[bool, ...],
) -> tuple[Tensor | None, ...]:
    """``kernel``'s compiled backward: the gradients of ``x``, ``edge_attr``, ``weight``,
    ``bias`` (``wants``: which of them) and the parameter (``None`` where not wanted)."""
    src, dst, x, edge_attr, weight, bias, param = saved
    e = _edge_term(edge_attr, weight, bias)
    gx, ge, gp = _compiled(kernel.fused_backward)(src, dst, x, e, param, stats, g, n, opts)
    g_attr = g_weight = g_bias = None
    if ge is not None:
        if weight is None:
            g_attr = ge
        else:
            g_attr = ge @ weight if wants[1] else None
            g_weight = ge.t() @ edge_attr if wants[2] else None
            g_bias = ge.sum(0) if wants[3] and bias is not None else None
    return gx, g_attr, g_weight, g_bias, gp
