r"""The memory-lean aggregation path: one autograd node that keeps no per-edge tensor.

Plain autograd keeps several :math:`E \times D` tensors per layer for the backward pass (the
messages, the exponentials, the softmax weights, the weighted messages), each 20 times the size
of the :math:`N \times D` node features on a graph with 20 edges per node. :class:`LeanAggregate`
keeps only its inputs and per-node statistics and recomputes the per-edge messages in the
backward pass; each aggregator writes the gradient of its reduction out from the formula
(``lean_forward`` / ``lean_backward`` of its class, see :class:`~revgnn.nn.aggr.LeanAggregation`).

Given the *recipe* of the messages instead of the messages themselves (as
:class:`~revgnn.nn.conv.GENConv` does: :math:`\mathrm{ReLU}(\mathbf{h}_u + \mathbf{W}
\mathbf{e}_{vu} + \mathbf{b}) + \epsilon`), no :math:`E \times D` tensor is kept at all. The
backward pass of the softmax then holds about three :math:`E \times D` temporaries at a time;
``chunk_size`` bounds this working set further, processing the edges in slices. The message
function's own backward (gather, linear, ReLU) is left to autograd on the recomputed slice.
Double backward (``create_graph=True``) raises an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor

from revgnn.nn.aggr.fused import FusedOptions, fused_backward, fused_forward
from revgnn.nn.aggr.segments import Segments, segments, sorted_segments_enabled
from revgnn.utils.autocast import AutocastState, autocast_disabled
from revgnn.utils.compile import compile_supported

if TYPE_CHECKING:
    from revgnn.nn.aggr.base import LeanAggregation

__all__ = [
    "HALF_DTYPES",
    "Extreme",
    "LeanAggregate",
    "LeanBackward",
    "LeanForward",
    "LeanPlan",
    "degree",
    "expand_index",
    "fused_aggregate",
    "reduce_param_grad",
    "segment_sum",
]

HALF_DTYPES = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class LeanPlan:
    """What one lean aggregation computes, everything but the tensors.

    ``kernel`` is the aggregator class whose ``lean_forward`` / ``lean_backward`` run.
    """

    kernel: type
    semi_grad: bool
    relu: bool
    eps: float
    clamp_min: float | None
    clamp_max: float | None
    dim_size: int
    num_edges: int
    chunk_size: int | None
    autocast: AutocastState
    segments: Segments | None = None
    #: Run the kernel's compiled ``fused_forward`` / ``fused_backward``
    #: (:mod:`revgnn.nn.aggr.fused`) instead of the eager lean path.
    fused: bool = False
    sign: str = "+"

    def options(self, wants: tuple[bool, ...] = (False,) * 5) -> FusedOptions:
        """The compiled kernels' constants; ``wants``: gradients of (x, edge_attr, weight,
        bias, param)."""
        return FusedOptions(
            relu=self.relu,
            eps=self.eps,
            semi_grad=self.semi_grad,
            clamp_min=self.clamp_min,
            clamp_max=self.clamp_max,
            sign=self.sign,
            want_x=wants[0],
            want_e=any(wants[1:4]),
            want_param=wants[4],
        )

    def chunks(self) -> list[tuple[int, int]]:
        step = self.chunk_size or max(self.num_edges, 1)
        return [(a, min(a + step, self.num_edges)) for a in range(0, self.num_edges, step)]


def edge_messages(
    plan: LeanPlan,
    src: Tensor | None,
    x: Tensor | None,
    edge_attr: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    a: int,
    b: int,
    with_eps: bool = True,
) -> Tensor:
    """Messages of edges ``a:b``: ``act(x[src] + Linear(edge_attr)) + eps``, terms optional."""
    # In place wherever the tensor is fresh (not a slice of an input): fewer E x D temporaries.
    with plan.autocast.enter():
        h = x.index_select(0, src[a:b]) if x is not None else None
        fresh = h is not None
        if edge_attr is not None:
            e = edge_attr[a:b]
            if weight is not None:
                e = F.linear(e, weight, bias)
            if h is None:
                h, fresh = e, weight is not None
            elif torch.promote_types(h.dtype, e.dtype) == h.dtype:
                h = h.add_(e)
            else:
                h = h + e
        if plan.relu:
            h, fresh = (h.relu_() if fresh else h.relu()), True
        if with_eps and plan.eps != 0.0:
            # The backward pass recomputes without eps (under autograd, never in place here).
            h = h.add_(plan.eps) if fresh and not torch.is_grad_enabled() else h + plan.eps
    return h


def segment_sum(plan: LeanPlan, dst: Tensor, values: Tensor, a: int, b: int) -> Tensor:
    """Per-node sums of ``values``, the rows of edges ``a:b`` with targets ``dst[a:b]``: one
    CSR product over edges sorted by target (:mod:`revgnn.nn.aggr.segments`) when they are
    all the edges, an ``index_add_`` over sorted ones otherwise, and without sorted segments
    the scatter of the given order."""
    seg = plan.segments
    if seg is not None and a == 0 and b == plan.num_edges:
        return seg.segment_sum(values, dst)
    out = values.new_zeros((plan.dim_size, values.size(1)))
    if seg is not None:
        return out.index_add_(0, dst[a:b], values)
    return out.scatter_add_(0, expand_index(dst[a:b], values), values)


def expand_index(index: Tensor, like: Tensor) -> Tensor:
    """A per-edge index broadcast over the channels of ``like``, for scatter."""
    return index.view(-1, 1).expand_as(like)


def degree(dst: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    """In-degree of every node, :math:`(N,)`."""
    return torch.zeros(n, dtype=dtype, device=dst.device).index_add_(
        0, dst, torch.ones(dst.numel(), dtype=dtype, device=dst.device)
    )


def reduce_param_grad(g: Tensor, param: Tensor) -> Tensor:
    """Sum a per-edge (or per-node) gradient down to a scalar or per-channel parameter."""
    if param.numel() == 1:
        return g.sum().reshape(param.shape)
    return g.sum(0).reshape(param.shape)


class Extreme:
    """Running per-node max/min over edge slices (exact, order-independent)."""

    def __init__(self, like: Tensor, n: int, reduce: str) -> None:
        fill = float("-inf") if reduce == "amax" else float("inf")
        self.reduce = reduce
        self.value = like.new_full((n, like.size(1)), fill)

    def add(self, v: Tensor, dst: Tensor) -> None:
        self.value.scatter_reduce_(0, expand_index(dst, v), v, self.reduce, include_self=True)

    def result(self) -> Tensor:
        # Nodes without in-edges keep the fill value; they aggregate to 0 as in PyG.
        return self.value.masked_fill_(self.value.isinf(), 0.0)


@dataclass
class LeanForward:
    """What an aggregator's ``lean_forward`` works with.

    ``msgs(a, b)`` gives the messages of edges ``a:b`` in the accumulation dtype ``acc``
    (fp32 for fp16/bf16 messages); with one chunk they are computed once and reused.
    """

    plan: LeanPlan
    dst: Tensor
    acc: torch.dtype
    like: Tensor
    msgs: Callable[[int, int], Tensor]

    @property
    def n(self) -> int:
        return self.plan.dim_size

    @property
    def chunks(self) -> list[tuple[int, int]]:
        return self.plan.chunks()

    def segment_sum(self, values: Tensor, a: int, b: int) -> Tensor:
        """Per-node sums of the rows of edges ``a:b`` (see :func:`segment_sum`)."""
        return segment_sum(self.plan, self.dst, values, a, b)


@dataclass
class LeanBackward:
    """What an aggregator's ``lean_backward`` works with.

    ``msgs(a, b)`` recomputes edges ``a:b``'s messages *without* eps under autograd (the
    message function's graph keeps one :math:`E \\times D` tensor); ``exact(h)`` turns them
    into the forward's messages bit for bit; ``push(h, dm)`` back-propagates ``dm``, the
    gradient of the messages, into the inputs; ``raw(a, b)`` gives the messages without eps
    and without a graph.
    """

    plan: LeanPlan
    dst: Tensor
    acc: torch.dtype
    msgs: Callable[[int, int], Tensor]
    exact: Callable[[Tensor], Tensor]
    push: Callable[[Tensor, Tensor], None]
    raw: Callable[[int, int], Tensor]
    want_param: bool

    @property
    def n(self) -> int:
        return self.plan.dim_size

    @property
    def chunks(self) -> list[tuple[int, int]]:
        return self.plan.chunks()

    def segment_sum(self, values: Tensor, a: int, b: int) -> Tensor:
        """Per-node sums of the rows of edges ``a:b`` (see :func:`segment_sum`)."""
        return segment_sum(self.plan, self.dst, values, a, b)


class LeanAggregate(torch.autograd.Function):
    """The lean aggregation as one autograd node (see the module docstring)."""

    @staticmethod
    def forward(
        ctx: Any,
        plan: LeanPlan,
        src: Tensor | None,
        dst: Tensor,
        x: Tensor | None,
        edge_attr: Tensor | None,
        weight: Tensor | None,
        bias: Tensor | None,
        param: Tensor | None,
    ) -> Tensor:
        ctx.plan = plan
        if plan.fused:
            n = plan.dim_size
            out, stats = fused_forward(
                plan.kernel, src, dst, x, edge_attr, weight, bias, param, n, plan.options()
            )
            ctx.save_for_backward(src, dst, x, edge_attr, weight, bias, param, *stats)
            return out
        chunks = plan.chunks()
        # Zero edges give the messages' width and dtype (autocast included) for free.
        empty = edge_messages(plan, src, x, edge_attr, weight, bias, 0, 0)
        out_dtype = empty.dtype
        acc = torch.float32 if out_dtype in HALF_DTYPES else out_dtype
        cached: list[Tensor] = []  # the messages, kept between passes when there is one chunk

        def msgs(a: int, b: int) -> Tensor:
            if cached:
                return cached[0]
            m = edge_messages(plan, src, x, edge_attr, weight, bias, a, b).to(acc)
            if len(chunks) == 1:
                cached.append(m)
            return m

        lf = LeanForward(plan, dst, acc, empty.to(acc), msgs)
        with autocast_disabled(plan.autocast.device_types):
            out, stats = plan.kernel.lean_forward(lf, param)
        cached.clear()
        ctx.acc = acc
        ctx.save_for_backward(src, dst, x, edge_attr, weight, bias, param, *stats)
        return out.to(out_dtype)

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        if torch.is_grad_enabled():
            # create_graph=True: the gradients below are not themselves differentiable.
            raise RuntimeError(
                "the memory-lean aggregation does not support double backward "
                "(create_graph=True); build the aggregator with lean=False to differentiate "
                "its gradients"
            )
        plan: LeanPlan = ctx.plan
        src, dst, x, edge_attr, weight, bias, param, *stats = ctx.saved_tensors
        if plan.fused:
            wants = tuple(ctx.needs_input_grad[3:8])
            saved = (src, dst, x, edge_attr, weight, bias, param)
            opts = plan.options(wants)
            grads = fused_backward(plan.kernel, saved, stats, grad_out, plan.dim_size, opts, wants)
            return (None, None, None, *grads)
        wants = list(ctx.needs_input_grad[3:7])
        leaves = [
            t.detach().requires_grad_(True) if (t is not None and w) else t
            for t, w in zip((x, edge_attr, weight, bias), wants)
        ]
        targets = [k for k in range(4) if wants[k] and leaves[k] is not None]
        grads: list[Tensor | None] = [None] * 4

        def msgs(a: int, b: int) -> Tensor:
            with torch.enable_grad() if targets else torch.no_grad():
                return edge_messages(plan, src, *leaves, a, b, with_eps=False)

        def raw(a: int, b: int) -> Tensor:
            with torch.no_grad():
                return edge_messages(plan, src, *leaves, a, b, with_eps=False)

        def exact(h: Tensor) -> Tensor:
            return torch.add(h.detach(), plan.eps).to(ctx.acc)

        def push(h: Tensor, dm: Tensor) -> None:
            if not targets:
                return
            got = torch.autograd.grad(h, [leaves[k] for k in targets], dm.to(h.dtype))
            for k, gk in zip(targets, got):
                grads[k] = gk if grads[k] is None else grads[k] + gk

        lb = LeanBackward(plan, dst, ctx.acc, msgs, exact, push, raw, bool(ctx.needs_input_grad[7]))
        # Every E x D temporary is freed as soon as it is used: the backward pass of a
        # reversible block's group is the working set that bounds a deep model's peak.
        with autocast_disabled(plan.autocast.device_types):
            grad_param = plan.kernel.lean_backward(lb, stats, param, grad_out.to(ctx.acc))
        return (None, None, None, *grads, grad_param)


def fused_aggregate(
    aggr: LeanAggregation,
    dst: Tensor,
    dim_size: int,
    *,
    src: Tensor | None = None,
    x: Tensor | None = None,
    edge_attr: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    relu: bool = False,
    eps: float = 0.0,
) -> Tensor:
    r"""Aggregate the messages :math:`\mathrm{act}(\mathbf{x}_{src} + \mathbf{W}\mathbf{e} +
    \mathbf{b}) + \epsilon` of every edge into its ``dst`` node with ``aggr``'s lean path.

    Each term is optional: ``x`` (gathered at ``src``), ``edge_attr`` (projected when
    ``weight`` is given); ``relu`` applies the ReLU. Passing the messages as ``edge_attr``
    alone aggregates given messages. Nothing per-edge is kept for the backward pass except
    what is passed in; the messages are recomputed there, ``aggr.chunk_size`` edges at a time.

    Args:
        aggr (LeanAggregation): The aggregator (its kernel and parameters).
        dst (torch.Tensor): Target node of every edge, :math:`(E,)`.
        dim_size (int): Number of target nodes :math:`N`.
        src (torch.Tensor, optional): Source node of every edge, :math:`(E,)`; needed with
            ``x``.

    Shapes:
        - **input:** ``x`` :math:`(N_{src}, D)`, ``edge_attr`` :math:`(E, F)`, ``weight``
          :math:`(D, F)`, ``bias`` :math:`(D,)`.
        - **output:** :math:`(N, D)` (before the degree scaling of the ``*_Sum`` kinds).
    """
    if x is None and edge_attr is None:
        raise ValueError("fused_aggregate needs x or edge_attr (the messages)")
    if x is not None and src is None:
        raise ValueError("fused_aggregate needs src (the source node of every edge) with x")
    if dst.dim() != 1:
        raise ValueError(f"dst must be one-dimensional, got shape {list(dst.shape)}")
    if edge_attr is not None and edge_attr.size(0) != dst.numel():
        raise ValueError(
            f"edge_attr has {edge_attr.size(0)} rows but there are {dst.numel()} edges"
        )
    device = (x if x is not None else edge_attr).device
    param = aggr.lean_param()
    if param is not None:
        param = param.to(device)
    seg = None
    if sorted_segments_enabled() and dst.numel() > 0:
        # The edges in target order, cached per graph (keyed by the caller's index, so an
        # int32 index is not widened into a new, uncached tensor first); the messages are
        # formed in that order (given edge features are permuted here, by autograd; GENConv
        # models sort their graph once in the encoder so that this permutes nothing).
        seg = segments(dst, dim_size, src)
    dst = dst.long()
    if seg is not None and seg.perm is not None:
        dst = seg.dst
        src = seg.src if src is not None else None
        if edge_attr is not None:
            edge_attr = edge_attr.index_select(0, seg.perm)
    kernel = aggr.lean_kernel()
    fused = (
        aggr.chunk_size is None
        and dst.numel() > 0
        and hasattr(kernel, "fused_forward")
        and compile_supported(x, edge_attr, weight, bias, param)
    )
    sign = "+"
    # Only kernels that specialise on p's sign read it: the test costs two host syncs a call.
    if fused and param is not None and getattr(kernel, "fused_sign", False):
        pos = param.detach() > 0
        sign = "+" if bool(pos.all()) else "-" if not bool(pos.any()) else "+-"
    plan = LeanPlan(
        kernel=kernel,
        semi_grad=getattr(aggr, "semi_grad", False),
        relu=relu,
        eps=eps,
        clamp_min=getattr(aggr, "clamp_min", None),
        clamp_max=getattr(aggr, "clamp_max", None),
        dim_size=dim_size,
        num_edges=dst.numel(),
        chunk_size=aggr.chunk_size,
        autocast=AutocastState.capture(device),
        segments=seg,
        fused=fused,
        sign=sign,
    )
    return LeanAggregate.apply(plan, src, dst, x, edge_attr, weight, bias, param)
