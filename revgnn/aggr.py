r"""The aggregators of DeeperGCN, with a memory-lean path for training deep GNNs.

Every aggregator reduces the messages :math:`\mathbf{m}_{vu}` of the in-edges
:math:`u \to v` of each node :math:`v`, channel by channel:

* :class:`SoftmaxAggregation` (SoftMax):
  :math:`\sum_u \mathrm{softmax}_u(\beta \mathbf{m}_{vu}) \, \mathbf{m}_{vu}` with an inverse
  temperature :math:`\beta` (a learnable scalar or per-channel vector); :math:`\beta \to 0`
  gives the mean, :math:`\beta \to \infty` the maximum. ``semi_grad=True`` is softmax_sg: the
  softmax weights are treated as constants in the backward pass.
* :class:`PowerMeanAggregation` (PowerMean):
  :math:`(\frac{1}{\deg(v)} \sum_u \mathbf{m}_{vu}^p)^{1/p}` with a learnable power
  :math:`p`; :math:`p = 1` is the mean, :math:`p \to \infty` the maximum.
* :class:`SoftmaxSumAggregation`, :class:`PowerSumAggregation` (SoftMax_Sum, PowerMean_Sum):
  the above times :math:`\deg(v)^{\sigma(y)}` with a learnable :math:`y`.
* :class:`MeanAggregation`, :class:`MaxAggregation`, :class:`SumAggregation`.

Paper: Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper GCNs"
<https://arxiv.org/abs/2006.07739>`_, 2020.

**Memory-lean path** (``lean=True``, the default). Plain autograd keeps several
:math:`E \times D` tensors per layer for the backward pass (the messages, the exponentials, the
softmax weights, the weighted messages), each 20 times the size of the :math:`N \times D`
node features on a graph with 20 edges per node. The lean path is a custom autograd function
that keeps only its inputs and per-node statistics (:math:`O(N D + E)` bytes: for the softmax
the per-node maximum, the normaliser and the output; for the power mean the per-node
reference, the sum of powers, the output and the degree; for the maximum the output) and
recomputes the per-edge messages and weights in the backward pass, with the gradients of the
aggregation written out from the formulas (ties of the maximum share the gradient equally, as
in :func:`torch.scatter_reduce`). Every aggregator here has both paths. Given the *recipe* of
the messages instead of the messages themselves (as :class:`~revgnn.GENConv` does:
:math:`\mathrm{ReLU}(\mathbf{h}_u + \mathbf{W} \mathbf{e}_{vu} + \mathbf{b}) + \epsilon`), no
:math:`E \times D` tensor is kept at all. The backward pass of the softmax then holds about
three :math:`E \times D` temporaries at a time (plain autograd: five saved plus six more
during its backward, measured with :mod:`revgnn.memory`); ``chunk_size`` bounds this
per-edge working set further, processing the edges in slices. The plain path
(``lean=False``) runs ordinary autograd and is the reference the lean path is tested against.
Double backward (``create_graph=True``) through the lean path raises an error.

**Where the DeeperGCN paper, its code and PyG differ** (PyG 2.8.1; "original" is the authors'
``deep_gcns_torch``):

1. Softmax with a fixed :math:`\beta`: the original code detaches the softmax weights whenever
   :math:`\beta` is not learned (so its "softmax" is softmax_sg); PyG and this module
   differentiate through the weights unless ``semi_grad=True``. softmax_sg with a learned
   :math:`\beta` is refused (its :math:`\beta` would get no gradient), as in PyG.
2. Softmax stability: PyG subtracts the per-node maximum (detached) before ``exp``, which
   this module reuses for its plain path; the lean path does the same and accumulates in fp32
   for fp16/bf16 messages.
3. PowerMean clamping: the original clamps the messages *and their mean of powers* to
   :math:`[10^{-7}, 10]`, PyG to :math:`[10^{-4}, 100]`. Clamping the mean of
   :math:`\mathbf{m}^p` saturates the output at :math:`100^{1/p}` (4.6 for :math:`p = 3`,
   whatever the messages), which is not the power mean. This module clamps only the
   messages, to ``[clamp_min, clamp_max]`` (default :math:`[10^{-7}, \infty)`: power means need
   positive inputs), and computes the mean overflow-free as
   :math:`R_v \, (\frac{1}{\deg(v)} \sum_u (\mathbf{m}_{vu} / R_v)^p)^{1/p}` with
   :math:`R_v` the per-node maximum for :math:`p > 0` (minimum for :math:`p < 0`), so
   :math:`(\mathbf{m}/R)^p \le 1` for any :math:`p`. :math:`|p|` is clamped to at least
   ``p_min`` (:math:`10^{-3}`): :math:`1/p` is undefined at 0. Gradients are zero where a clamp
   is active (as for :func:`torch.clamp`).
4. SoftMax_Sum / PowerMean_Sum and the :math:`y` parameter exist in the original code only;
   PyG has neither. Both scale by :math:`\deg(v)^{\sigma(y)}` (in-degree).
5. Isolated nodes (no in-edges) aggregate to 0 in every aggregator, in both paths, with finite
   gradients.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import aggr as pyg_aggr
from torch_geometric.utils import scatter

from revgnn.reversible import _AutocastState

__all__ = [
    "AGGREGATORS",
    "LeanAggregation",
    "MaxAggregation",
    "MeanAggregation",
    "PowerMeanAggregation",
    "PowerSumAggregation",
    "SoftmaxAggregation",
    "SoftmaxSumAggregation",
    "SumAggregation",
    "aggregation_resolver",
    "fused_aggregate",
]

_HALF = (torch.float16, torch.bfloat16)
# PyG's softmax adds this to the normaliser; both paths do, so they agree to rounding.
_SOFTMAX_EPS = 1e-16


# ---------------------------------------------------------------------------------------------
# The lean path: one autograd node per aggregation that keeps no per-edge tensor


@dataclass(frozen=True)
class _Plan:
    """What the fused aggregation computes (everything but the tensors)."""

    kind: str  # "softmax", "power", "mean", "sum" or "max"
    semi_grad: bool
    relu: bool
    eps: float
    clamp_min: float | None
    clamp_max: float | None
    dim_size: int
    num_edges: int
    chunk_size: int | None
    autocast: _AutocastState

    def chunks(self) -> list[tuple[int, int]]:
        step = self.chunk_size or max(self.num_edges, 1)
        return [(a, min(a + step, self.num_edges)) for a in range(0, self.num_edges, step)]


def _messages(
    plan: _Plan,
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


def _expand(index: Tensor, like: Tensor) -> Tensor:
    return index.view(-1, 1).expand_as(like)


class _Extreme:
    """Running per-node max/min over edge slices (exact, order-independent)."""

    def __init__(self, like: Tensor, n: int, reduce: str) -> None:
        fill = float("-inf") if reduce == "amax" else float("inf")
        self.reduce = reduce
        self.value = like.new_full((n, like.size(1)), fill)

    def add(self, v: Tensor, dst: Tensor) -> None:
        self.value.scatter_reduce_(0, _expand(dst, v), v, self.reduce, include_self=True)

    def result(self) -> Tensor:
        # Nodes without in-edges keep the fill value; they aggregate to 0 as in PyG.
        return self.value.masked_fill_(self.value.isinf(), 0.0)


def _reduce_param_grad(g: Tensor, param: Tensor) -> Tensor:
    if param.numel() == 1:
        return g.sum().reshape(param.shape)
    return g.sum(0).reshape(param.shape)


class _FusedAggregate(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        plan: _Plan,
        src: Tensor | None,
        dst: Tensor,
        x: Tensor | None,
        edge_attr: Tensor | None,
        weight: Tensor | None,
        bias: Tensor | None,
        param: Tensor | None,
    ) -> Tensor:
        chunks = plan.chunks()
        n = plan.dim_size
        # Zero edges give the messages' width and dtype (autocast included) for free.
        empty = _messages(plan, src, x, edge_attr, weight, bias, 0, 0)
        out_dtype = empty.dtype
        acc = torch.float32 if out_dtype in _HALF else out_dtype
        like = empty.to(acc)
        cached: list[Tensor] = []  # the messages, kept between passes when there is one chunk

        def msgs(a: int, b: int) -> Tensor:
            if cached:
                return cached[0]
            m = _messages(plan, src, x, edge_attr, weight, bias, a, b).to(acc)
            if len(chunks) == 1:
                cached.append(m)
            return m

        with _no_autocast(plan):
            if plan.kind == "softmax":
                beta = param.to(acc)
                ext = _Extreme(like, n, "amax")
                for a, b in chunks:
                    ext.add(msgs(a, b) * beta, dst[a:b])
                smax = ext.result()
                den = torch.zeros_like(smax)
                num = torch.zeros_like(smax)
                for a, b in chunks:
                    m, d = msgs(a, b), dst[a:b]
                    ex = smax.index_select(0, d).neg_().addcmul_(m, beta).exp_()
                    den.scatter_add_(0, _expand(d, ex), ex)
                    num.scatter_add_(0, _expand(d, ex), ex.mul_(m))
                    del ex, m
                den.add_(_SOFTMAX_EPS)
                out = num.div_(den)
                saved = [smax, den, out]
            elif plan.kind == "power":
                p = param.to(acc)
                ref = _PowerRef(like, n, p)
                for a, b in chunks:
                    ref.add(_clamp(plan, msgs(a, b)), dst[a:b])
                r_node = ref.result()
                s = torch.zeros_like(r_node)
                for a, b in chunks:
                    d = dst[a:b]
                    r = _clamp(plan, msgs(a, b)).div_(r_node.index_select(0, d)).pow_(p)
                    s.scatter_add_(0, _expand(d, r), r)
                    del r
                deg = _degree(dst, n, acc)
                out = _power_output(r_node, s, deg, p)
                saved = [r_node, s, out, deg]
            elif plan.kind in ("sum", "mean"):
                out = like.new_zeros(n, like.size(1))
                for a, b in chunks:
                    m = msgs(a, b)
                    out.scatter_add_(0, _expand(dst[a:b], m), m)
                    del m
                saved = []
                if plan.kind == "mean":
                    deg = _degree(dst, n, acc)
                    out = out.div_(deg.clamp_min(1.0).unsqueeze(1))
                    saved = [deg]
            elif plan.kind == "max":
                ext = _Extreme(like, n, "amax")
                for a, b in chunks:
                    ext.add(msgs(a, b), dst[a:b])
                out = ext.result()
                saved = [out]
            else:  # pragma: no cover - the modules only build the kinds above
                raise AssertionError(plan.kind)
        cached.clear()
        ctx.plan = plan
        ctx.acc = acc
        ctx.save_for_backward(src, dst, x, edge_attr, weight, bias, param, *saved)
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
        plan: _Plan = ctx.plan
        acc = ctx.acc
        src, dst, x, edge_attr, weight, bias, param, *stats = ctx.saved_tensors
        wants = list(ctx.needs_input_grad[3:7])
        leaves = [
            t.detach().requires_grad_(True) if (t is not None and w) else t
            for t, w in zip((x, edge_attr, weight, bias), wants)
        ]
        targets = [k for k in range(4) if wants[k] and leaves[k] is not None]
        grads: list[Tensor | None] = [None] * 4
        want_param = ctx.needs_input_grad[7]
        grad_param: Tensor | None = None
        g = grad_out.to(acc)
        chunks = plan.chunks()

        def msgs(a: int, b: int) -> Tensor:
            # Recomputed with autograd: the message function's own backward (gather, linear,
            # ReLU) is left to torch, only the aggregation's is written out. Without the
            # constant eps: its graph then keeps one E x D tensor (the ReLU's output).
            with torch.enable_grad() if targets else contextlib.nullcontext():
                return _messages(plan, src, *leaves, a, b, with_eps=False)

        def exact(h: Tensor) -> Tensor:
            # The messages bit for bit as the forward pass computed them (a new tensor).
            return torch.add(h.detach(), plan.eps).to(acc)

        def push(h: Tensor, dm: Tensor) -> None:
            if not targets:
                return
            got = torch.autograd.grad(h, [leaves[k] for k in targets], dm.to(h.dtype))
            for k, gk in zip(targets, got):
                grads[k] = gk if grads[k] is None else grads[k] + gk

        # Every E x D temporary below is freed as soon as it is used: the backward pass of a
        # reversible block's group is the working set that bounds a deep model's peak.
        with _no_autocast(plan):
            if plan.kind == "softmax":
                smax, den, out = stats
                beta = param.to(acc)
                for a, b in chunks:
                    h, d = msgs(a, b), dst[a:b]
                    hd = h.detach().to(acc)  # m = hd + eps, never materialised
                    w = (hd * beta).add_(beta * plan.eps).sub_(smax.index_select(0, d)).exp_()
                    gw = w.div_(den.index_select(0, d)).mul_(g.index_select(0, d))  # g_v w_vu
                    if not plan.semi_grad:
                        # d out_v / d m_vu = w_vu (1 + beta (m_vu - out_v)),
                        # d out_v / d beta = sum_u w_vu m_vu (m_vu - out_v)
                        t = out.index_select(0, d).neg_().add_(hd).add_(plan.eps).mul_(gw)
                        gw.addcmul_(t, beta)  # g_v w_vu (1 + beta (m_vu - out_v))
                        if want_param:  # sum of t * m_vu, with m_vu = hd + eps
                            gp = _reduce_param_grad(t, param) * plan.eps
                            gp = gp + _reduce_param_grad(t.mul_(hd), param)
                            grad_param = gp if grad_param is None else grad_param + gp
                        del t
                    del hd
                    push(h, gw)
                    del h, w, gw
            elif plan.kind == "power":
                r_node, s, out, deg = stats
                p = param.to(acc)
                has = (deg > 0).unsqueeze(1)
                # d out_v / d m_vu = out_v / (R_v S_v) * (m_vu / R_v)^(p - 1)
                coef = torch.where(has, out / torch.where(has, r_node * s, 1.0), 0.0)
                if want_param:
                    # d out_v / d p = out_v (sum_u r^p log r / (p S_v) - log(S_v / deg_v) / p^2)
                    base = torch.where(has, s / deg.clamp_min(1.0).unsqueeze(1), 1.0)
                    grad_param = _reduce_param_grad(-(g * out * base.log()) / (p * p), param)
                    coef_p = coef * r_node / p
                for a, b in chunks:
                    h, d = msgs(a, b), dst[a:b]
                    r = exact(h)
                    keep = _clamp_mask(plan, r)
                    r = r.clamp_(plan.clamp_min, plan.clamp_max).div_(r_node.index_select(0, d))
                    if want_param:
                        t = r.pow(p)
                        t = torch.xlogy(t, r, out=t).mul_(g.index_select(0, d))
                        t.mul_(coef_p.index_select(0, d))
                        grad_param = grad_param + _reduce_param_grad(t, param)
                        del t
                    gc = g.index_select(0, d).mul_(coef.index_select(0, d))
                    gc.mul_(r.pow_(p - 1.0)).mul_(keep)
                    del r, keep
                    push(h, gc)
                    del h, gc
            elif plan.kind in ("sum", "mean"):
                gg = g / stats[0].clamp_min(1.0).unsqueeze(1) if plan.kind == "mean" else g
                for a, b in chunks:
                    push(msgs(a, b), gg.index_select(0, dst[a:b]))
            elif plan.kind == "max":
                (out,) = stats
                # Ties share the gradient equally, as in torch.scatter_reduce("amax").
                count = torch.zeros_like(out)

                def ties(h: Tensor, d: Tensor) -> Tensor:
                    return exact(h).eq_(out.index_select(0, d))  # 1.0 where m_vu == out_v

                if len(chunks) == 1:
                    (a, b), d = chunks[0], dst
                    h = msgs(a, b)
                    eq = ties(h, d)
                    count.scatter_add_(0, _expand(d, eq), eq)
                    push(h, eq.div_(count.index_select(0, d)).mul_(g.index_select(0, d)))
                else:
                    for a, b in chunks:
                        d = dst[a:b]
                        with torch.no_grad():
                            eq = ties(_messages(plan, src, *leaves, a, b, with_eps=False), d)
                        count.scatter_add_(0, _expand(d, eq), eq)
                        del eq
                    for a, b in chunks:
                        h, d = msgs(a, b), dst[a:b]
                        eq = ties(h, d)
                        push(h, eq.div_(count.index_select(0, d)).mul_(g.index_select(0, d)))
                        del h, eq
        return (None, None, None, *grads, grad_param)


@contextlib.contextmanager
def _no_autocast(plan: _Plan) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for t in plan.autocast.device_types:
            stack.enter_context(torch.autocast(t, enabled=False))
        yield


def _clamp(plan: _Plan, m: Tensor) -> Tensor:
    return m.clamp(plan.clamp_min, plan.clamp_max)


def _clamp_mask(plan: _Plan, m: Tensor) -> Tensor:
    # torch.clamp's gradient: 1 where clamp_min <= m <= clamp_max (bounds included).
    keep = m >= plan.clamp_min
    if plan.clamp_max is not None:
        keep &= m <= plan.clamp_max
    return keep


def _degree(dst: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    return torch.zeros(n, dtype=dtype, device=dst.device).index_add_(
        0, dst, torch.ones(dst.numel(), dtype=dtype, device=dst.device)
    )


class _PowerRef:
    """Per-node reference R_v of the power mean: max for p > 0, min for p < 0 (per channel)."""

    def __init__(self, like: Tensor, n: int, p: Tensor) -> None:
        self.pos = p > 0
        self.hi = _Extreme(like, n, "amax") if bool(self.pos.any()) else None
        self.lo = _Extreme(like, n, "amin") if not bool(self.pos.all()) else None

    def add(self, m: Tensor, dst: Tensor) -> None:
        for e in (self.hi, self.lo):
            if e is not None:
                e.add(m, dst)

    def result(self) -> Tensor:
        if self.lo is None:
            return self.hi.result()
        if self.hi is None:
            return self.lo.result()
        return torch.where(self.pos, self.hi.result(), self.lo.result())


def _power_output(r_node: Tensor, s: Tensor, deg: Tensor, p: Tensor) -> Tensor:
    has = (deg > 0).unsqueeze(1)
    base = torch.where(has, s / deg.clamp_min(1.0).unsqueeze(1), 1.0)
    return torch.where(has, r_node * base.pow(1.0 / p), 0.0)


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
        aggr (LeanAggregation): The aggregator (its kind and parameters).
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
        raise ValueError(f"dst must be one-dimensional, got shape {tuple(dst.shape)}")
    if edge_attr is not None and edge_attr.size(0) != dst.numel():
        raise ValueError(
            f"edge_attr has {edge_attr.size(0)} rows but there are {dst.numel()} edges"
        )
    device = (x if x is not None else edge_attr).device
    param = aggr.lean_param()
    if param is not None:
        param = param.to(device)
    plan = _Plan(
        kind=aggr.kind,
        semi_grad=getattr(aggr, "semi_grad", False),
        relu=relu,
        eps=eps,
        clamp_min=getattr(aggr, "clamp_min", None),
        clamp_max=getattr(aggr, "clamp_max", None),
        dim_size=dim_size,
        num_edges=dst.numel(),
        chunk_size=aggr.chunk_size,
        autocast=_AutocastState.capture(device),
    )
    return _FusedAggregate.apply(plan, src, dst, x, edge_attr, weight, bias, param)


# ---------------------------------------------------------------------------------------------
# Aggregator modules


class LeanAggregation(pyg_aggr.Aggregation):
    r"""Base of the aggregators here: a PyG :class:`~torch_geometric.nn.aggr.Aggregation` with a
    switchable memory-lean path (see the module docstring).

    Subclasses set ``kind`` and implement ``plain`` (ordinary autograd on given messages);
    ``lean_param`` returns the tensor the lean path differentiates (:math:`\beta` or :math:`p`),
    ``scale`` the degree scaling applied after either path.
    """

    kind: str = ""

    def __init__(self, lean: bool = True, chunk_size: int | None = None) -> None:
        super().__init__()
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size} must be at least 1 (or None)")
        self.lean = lean
        self.chunk_size = chunk_size

    def lean_param(self) -> Tensor | None:
        return None

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        raise NotImplementedError

    def scale(self, out: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return out

    def forward(
        self,
        x: Tensor,
        index: Tensor | None = None,
        ptr: Tensor | None = None,
        dim_size: int | None = None,
        dim: int = -2,
        **kwargs: Any,
    ) -> Tensor:
        self.assert_two_dimensional_input(x, dim)
        if dim_size is None:
            dim_size = int(index.max()) + 1 if index.numel() > 0 else 0
        if self.lean:
            out = fused_aggregate(self, index, dim_size, edge_attr=x)
        else:
            out = self.plain(x, index, dim_size)
        return self.scale(out, index, dim_size)

    def aggregate_edges(
        self,
        edge_index: Tensor,
        dim_size: int,
        x: Tensor | None,
        edge_attr: Tensor | None = None,
        weight: Tensor | None = None,
        bias: Tensor | None = None,
        relu: bool = True,
        eps: float = 0.0,
    ) -> Tensor:
        """Lean aggregation of ``act(x_j + Linear(e_ji)) + eps`` over ``edge_index``
        (source row 0, target row 1), degree scaling included."""
        dst = edge_index[1]
        out = fused_aggregate(
            self,
            dst,
            dim_size,
            src=edge_index[0],
            x=x,
            edge_attr=edge_attr,
            weight=weight,
            bias=bias,
            relu=relu,
            eps=eps,
        )
        return self.scale(out, dst, dim_size)

    def _repr_args(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        args = [*self._repr_args(), f"lean={self.lean}"]
        if self.chunk_size is not None:
            args.append(f"chunk_size={self.chunk_size}")
        return f"{self.__class__.__name__}({', '.join(args)})"


def _scalar_or_vector(value: float, learn: bool, channels: int, name: str) -> Tensor | float:
    if channels < 1:
        raise ValueError(f"channels={channels} must be at least 1")
    if not learn:
        if channels != 1:
            raise ValueError(
                f"channels={channels} (a per-channel {name}) needs learn=True; a fixed {name} "
                "is one number"
            )
        return float(value)
    return Parameter(torch.full((channels,), float(value)))


class SoftmaxAggregation(LeanAggregation):
    r"""SoftMax aggregation of DeeperGCN,
    :math:`\mathbf{m}_v = \sum_u \mathrm{softmax}_u(\beta \mathbf{m}_{vu}) \mathbf{m}_{vu}`.

    The plain path is PyG's :class:`~torch_geometric.nn.aggr.SoftmaxAggregation` (stable: it
    subtracts the per-node maximum). See the module docstring for the lean path and for how
    this differs from the original code.

    Args:
        t (float, optional): Initial inverse temperature :math:`\beta`. (default: ``1.0``)
        learn (bool, optional): Learn :math:`\beta`. (default: ``False``)
        semi_grad (bool, optional): softmax_sg: no gradient through the softmax weights;
            needs ``learn=False``. (default: ``False``)
        channels (int, optional): ``1`` for a scalar :math:`\beta`, else its length (one per
            channel, needs ``learn=True``). (default: ``1``)
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path, or ``None`` for all.
            (default: ``None``)

    Shapes:
        - **input:** messages :math:`(E, D)`, index :math:`(E,)`.
        - **output:** :math:`(N, D)`.
    """

    kind = "softmax"

    def __init__(
        self,
        t: float = 1.0,
        learn: bool = False,
        semi_grad: bool = False,
        channels: int = 1,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__(lean, chunk_size)
        if learn and semi_grad:
            raise ValueError(
                "semi_grad=True (softmax_sg) detaches the softmax weights, so a learned t would "
                "get no gradient: use learn=False with semi_grad=True"
            )
        self._init_t = float(t)
        self.learn = learn
        self.semi_grad = semi_grad
        self.channels = channels
        self.t = _scalar_or_vector(t, learn, channels, "t")

    def reset_parameters(self) -> None:
        if isinstance(self.t, Tensor):
            self.t.data.fill_(self._init_t)

    def lean_param(self) -> Tensor:
        if isinstance(self.t, Tensor):
            return self.t
        # fp64 so that the cast to the messages' dtype rounds the Python float only once.
        return torch.tensor(self.t, dtype=torch.float64)

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        # PyG's forward reads exactly our attributes (t, learn, semi_grad, channels).
        return pyg_aggr.SoftmaxAggregation.forward(self, x, index, dim_size=dim_size, dim=0)

    def _repr_args(self) -> list[str]:
        args = [f"learn={self.learn}"]
        if self.semi_grad:
            args.append("semi_grad=True")
        if self.channels != 1:
            args.append(f"channels={self.channels}")
        return args


class PowerMeanAggregation(LeanAggregation):
    r"""PowerMean aggregation of DeeperGCN,
    :math:`\mathbf{m}_v = (\frac{1}{\deg(v)} \sum_u \mathbf{m}_{vu}^p)^{1/p}`, computed as
    :math:`R_v (\frac{1}{\deg(v)} \sum_u (\mathbf{m}_{vu} / R_v)^p)^{1/p}` with :math:`R_v` the
    per-node maximum (minimum for :math:`p < 0`), which cannot overflow.

    Messages are clamped to ``[clamp_min, clamp_max]`` (a power mean needs positive inputs)
    and :math:`|p|` to at least ``p_min``; nothing else is clamped (PyG and the original code
    also clamp the mean of powers, which caps the output; see the module docstring).

    Args:
        p (float, optional): Initial power :math:`p`. (default: ``1.0``)
        learn (bool, optional): Learn :math:`p`. (default: ``False``)
        channels (int, optional): ``1`` for a scalar :math:`p`, else one per channel (needs
            ``learn=True``). (default: ``1``)
        clamp_min (float, optional): Lower bound of the messages, > 0. (default: ``1e-7``)
        clamp_max (float, optional): Upper bound of the messages, or ``None``.
            (default: ``None``)
        p_min (float, optional): Smallest :math:`|p|` used. (default: ``1e-3``)
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)

    Shapes:
        - **input:** messages :math:`(E, D)`, index :math:`(E,)`.
        - **output:** :math:`(N, D)`.
    """

    kind = "power"

    def __init__(
        self,
        p: float = 1.0,
        learn: bool = False,
        channels: int = 1,
        clamp_min: float = 1e-7,
        clamp_max: float | None = None,
        p_min: float = 1e-3,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__(lean, chunk_size)
        if not clamp_min > 0.0:
            raise ValueError(f"clamp_min={clamp_min} must be > 0: a power mean needs m > 0")
        if clamp_max is not None and not clamp_max > clamp_min:
            raise ValueError(f"clamp_max={clamp_max} must exceed clamp_min={clamp_min}")
        if not p_min > 0.0:
            raise ValueError(f"p_min={p_min} must be > 0")
        if abs(p) < p_min:
            raise ValueError(f"p={p} must satisfy |p| >= p_min={p_min} (1/p is undefined at 0)")
        self._init_p = float(p)
        self.learn = learn
        self.channels = channels
        self.clamp_min = float(clamp_min)
        self.clamp_max = None if clamp_max is None else float(clamp_max)
        self.p_min = float(p_min)
        self.p = _scalar_or_vector(p, learn, channels, "p")

    def reset_parameters(self) -> None:
        if isinstance(self.p, Tensor):
            self.p.data.fill_(self._init_p)

    def lean_param(self) -> Tensor:
        p = self.p if isinstance(self.p, Tensor) else torch.tensor(self.p, dtype=torch.float64)
        # |p| >= p_min, keeping the sign (a learned p can approach 0).
        return torch.where(p >= 0, p.clamp_min(self.p_min), p.clamp_max(-self.p_min))

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        p = self.lean_param().to(x.device, x.dtype)
        m = x.clamp(self.clamp_min, self.clamp_max)
        pos = p > 0
        with torch.no_grad():
            if bool(pos.all()):
                r_node = scatter(m, index, 0, dim_size, reduce="max")
            elif not bool(pos.any()):
                r_node = scatter(m, index, 0, dim_size, reduce="min")
            else:
                r_node = torch.where(
                    pos,
                    scatter(m, index, 0, dim_size, reduce="max"),
                    scatter(m, index, 0, dim_size, reduce="min"),
                )
        r = (m / r_node.index_select(0, index)).pow(p)
        s = scatter(r, index, 0, dim_size, reduce="sum")
        deg = _degree(index, dim_size, s.dtype)
        return _power_output(r_node, s, deg, p)

    def _repr_args(self) -> list[str]:
        args = [f"learn={self.learn}"]
        if self.channels != 1:
            args.append(f"channels={self.channels}")
        return args


class _DegreeScaled:
    r"""Mixin: multiply the aggregate by :math:`\deg(v)^{\sigma(y)}` (the ``*_Sum`` kinds)."""

    y: Tensor | float
    _init_y: float

    def _init_y_param(self, y: float, learn_y: bool, y_channels: int) -> None:
        self._init_y = float(y)
        self.learn_y = learn_y
        self.y = _scalar_or_vector(y, learn_y, y_channels, "y")

    def _reset_y(self) -> None:
        if isinstance(self.y, Tensor):
            self.y.data.fill_(self._init_y)

    def scale(self, out: Tensor, index: Tensor, dim_size: int) -> Tensor:
        y = self.y
        if not isinstance(y, Tensor):
            y = torch.tensor(y, dtype=torch.float64, device=out.device)
        # deg >= 1 where it matters; isolated nodes aggregate to 0 whatever the factor.
        deg = _degree(index, dim_size, out.dtype).clamp_min(1.0).unsqueeze(1)
        return out * deg.pow(torch.sigmoid(y).to(out.dtype))


class SoftmaxSumAggregation(_DegreeScaled, SoftmaxAggregation):
    r"""SoftMax_Sum of DeeperGCN: :class:`SoftmaxAggregation` times
    :math:`\deg(v)^{\sigma(y)}`.

    Args:
        y (float, optional): Initial :math:`y` (:math:`\sigma(0) = 0.5`). (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        y_channels (int, optional): ``1`` for a scalar :math:`y`, else one per channel.
            (default: ``1``)
        **kwargs: The arguments of :class:`SoftmaxAggregation`.
    """

    def __init__(
        self, y: float = 0.0, learn_y: bool = False, y_channels: int = 1, **kwargs: Any
    ) -> None:
        SoftmaxAggregation.__init__(self, **kwargs)
        self._init_y_param(y, learn_y, y_channels)

    def reset_parameters(self) -> None:
        SoftmaxAggregation.reset_parameters(self)
        self._reset_y()

    def _repr_args(self) -> list[str]:
        return [*SoftmaxAggregation._repr_args(self), f"learn_y={self.learn_y}"]


class PowerSumAggregation(_DegreeScaled, PowerMeanAggregation):
    r"""PowerMean_Sum of DeeperGCN: :class:`PowerMeanAggregation` times
    :math:`\deg(v)^{\sigma(y)}`.

    Args:
        y (float, optional): Initial :math:`y`. (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        y_channels (int, optional): ``1`` for a scalar :math:`y`, else one per channel.
            (default: ``1``)
        **kwargs: The arguments of :class:`PowerMeanAggregation`.
    """

    def __init__(
        self, y: float = 0.0, learn_y: bool = False, y_channels: int = 1, **kwargs: Any
    ) -> None:
        PowerMeanAggregation.__init__(self, **kwargs)
        self._init_y_param(y, learn_y, y_channels)

    def reset_parameters(self) -> None:
        PowerMeanAggregation.reset_parameters(self)
        self._reset_y()

    def _repr_args(self) -> list[str]:
        return [*PowerMeanAggregation._repr_args(self), f"learn_y={self.learn_y}"]


class MeanAggregation(LeanAggregation):
    r"""Mean of the messages (PyG's :func:`~torch_geometric.utils.scatter` in the plain path).

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)
    """

    kind = "mean"

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return scatter(x, index, 0, dim_size, reduce="mean")


class SumAggregation(LeanAggregation):
    r"""Sum of the messages.

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)
    """

    kind = "sum"

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return scatter(x, index, 0, dim_size, reduce="sum")


class MaxAggregation(LeanAggregation):
    r"""Channel-wise maximum of the messages (0 for isolated nodes; ties share the gradient).

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)
    """

    kind = "max"

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return scatter(x, index, 0, dim_size, reduce="max")


#: Names accepted by :func:`aggregation_resolver` (``"add"`` is ``"sum"``, ``"powermean"`` is
#: ``"power"``).
AGGREGATORS = (
    "softmax",
    "softmax_sg",
    "softmax_sum",
    "power",
    "power_sum",
    "mean",
    "max",
    "sum",
)


def aggregation_resolver(
    aggr: str | LeanAggregation,
    *,
    t: float = 1.0,
    learn_t: bool = False,
    p: float = 1.0,
    learn_p: bool = False,
    y: float = 0.0,
    learn_y: bool = False,
    channels: int = 1,
    lean: bool = True,
    chunk_size: int | None = None,
) -> LeanAggregation:
    """Build an aggregator from its DeeperGCN name (an aggregator module is returned as is).

    ``channels > 1`` makes every learned parameter (:math:`\\beta`, :math:`p`, :math:`y`) a
    per-channel vector of that length.
    """
    if isinstance(aggr, LeanAggregation):
        return aggr
    if not isinstance(aggr, str):
        raise TypeError(
            f"aggr must be a name or a revgnn LeanAggregation, got {type(aggr).__name__}"
        )
    name = {"add": "sum", "powermean": "power"}.get(aggr, aggr)
    common = {"lean": lean, "chunk_size": chunk_size}
    t_ch = channels if learn_t else 1
    p_ch = channels if learn_p else 1
    y_ch = channels if learn_y else 1
    if name == "softmax":
        return SoftmaxAggregation(t, learn_t, channels=t_ch, **common)
    if name == "softmax_sg":
        return SoftmaxAggregation(t, learn_t, semi_grad=True, channels=t_ch, **common)
    if name == "softmax_sum":
        return SoftmaxSumAggregation(y, learn_y, y_ch, t=t, learn=learn_t, channels=t_ch, **common)
    if name == "power":
        return PowerMeanAggregation(p, learn_p, channels=p_ch, **common)
    if name == "power_sum":
        return PowerSumAggregation(y, learn_y, y_ch, p=p, learn=learn_p, channels=p_ch, **common)
    if name == "mean":
        return MeanAggregation(**common)
    if name == "max":
        return MaxAggregation(**common)
    if name == "sum":
        return SumAggregation(**common)
    raise ValueError(
        f"aggr={aggr!r} is not one of {', '.join(AGGREGATORS)} (or 'add', 'powermean')"
    )
