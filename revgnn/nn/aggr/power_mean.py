r"""PowerMean aggregation of DeeperGCN and PowerMean_Sum.

:math:`\mathbf{m}_v = (\frac{1}{\deg(v)} \sum_u \mathbf{m}_{vu}^p)^{1/p}` with a learnable
power :math:`p`: :math:`p = 1` is the mean, :math:`p \to \infty` the maximum. Computed
overflow-free as :math:`R_v (\frac{1}{\deg(v)} \sum_u (\mathbf{m}_{vu} / R_v)^p)^{1/p}` with
:math:`R_v` the per-node maximum for :math:`p > 0` (minimum for :math:`p < 0`), so
:math:`(\mathbf{m}/R)^p \le 1` for any :math:`p`.

Paper: Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper GCNs"
<https://arxiv.org/abs/2006.07739>`_, 2020. Clamping: the original code clamps the messages
*and their mean of powers* to :math:`[10^{-7}, 10]`, PyG to :math:`[10^{-4}, 100]`; clamping the
mean of :math:`\mathbf{m}^p` saturates the output at :math:`100^{1/p}` (4.6 for :math:`p = 3`,
whatever the messages), which is not the power mean. This module clamps only the messages, to
``[clamp_min, clamp_max]`` (default :math:`[10^{-7}, \infty)`: power means need positive
inputs), and :math:`|p|` to at least ``p_min`` (:math:`1/p` is undefined at 0). A fixed
:math:`p = 1` is exactly the mean, of messages of any sign, as in PyG. Gradients are zero where
a clamp is active (as for :func:`torch.clamp`). PowerMean_Sum exists in the original code only.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from revgnn.nn.aggr import fused
from revgnn.nn.aggr.base import DegreeScaled, LeanAggregation
from revgnn.nn.aggr.lean import (
    Extreme,
    LeanBackward,
    LeanForward,
    LeanPlan,
    degree,
    reduce_param_grad,
)
from revgnn.nn.aggr.mean import MeanAggregation

__all__ = ["PowerMeanAggregation", "PowerSumAggregation"]


def _clamp(plan: LeanPlan, m: Tensor) -> Tensor:
    return m.clamp(plan.clamp_min, plan.clamp_max)


def _clamp_mask(plan: LeanPlan, m: Tensor) -> Tensor:
    # torch.clamp's gradient: 1 where clamp_min <= m <= clamp_max (bounds included).
    keep = m >= plan.clamp_min
    if plan.clamp_max is not None:
        keep &= m <= plan.clamp_max
    return keep


class _PowerRef:
    """Per-node reference R_v of the power mean: max for p > 0, min for p < 0 (per channel)."""

    def __init__(self, like: Tensor, n: int, p: Tensor) -> None:
        self.pos = p > 0
        self.hi = Extreme(like, n, "amax") if bool(self.pos.any()) else None
        self.lo = Extreme(like, n, "amin") if not bool(self.pos.all()) else None

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


def _fused_reference(m: Tensor, dst: Tensor, n: int, p: Tensor, sign: str) -> Tensor:
    """:class:`_PowerRef` of the compiled path; ``sign`` (of p) is known when it compiles."""
    if sign == "+":
        return fused.segment_extreme(m, dst, n, "amax")
    if sign == "-":
        return fused.segment_extreme(m, dst, n, "amin")
    hi = fused.segment_extreme(m, dst, n, "amax")
    return torch.where(p > 0, hi, fused.segment_extreme(m, dst, n, "amin"))


def _power_output(r_node: Tensor, s: Tensor, deg: Tensor, p: Tensor) -> Tensor:
    has = (deg > 0).unsqueeze(1)
    base = torch.where(has, s / deg.clamp_min(1.0).unsqueeze(1), 1.0)
    return torch.where(has, r_node * base.pow(1.0 / p), 0.0)


class PowerMeanAggregation(LeanAggregation):
    r"""PowerMean aggregation,
    :math:`\mathbf{m}_v = (\frac{1}{\deg(v)} \sum_u \mathbf{m}_{vu}^p)^{1/p}` (see the module
    docstring for the overflow-free form and the clamping).

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
        - **input:** messages :math:`(E, D)`, index :math:`(E,)` or ptr :math:`(N + 1,)`.
        - **output:** :math:`(N, D)`.
    """

    names = ("power", "powermean")
    family = "power"
    #: The compiled kernels specialise on the sign of p (:attr:`FusedOptions.sign`).
    fused_sign = True

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
        self.p = self.learnable(p, learn, channels, "p")

    @classmethod
    def from_options(
        cls,
        name: str,
        *,
        p: float = 1.0,
        learn_p: bool = False,
        channels: int = 1,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> PowerMeanAggregation:
        return cls(
            p, learn_p, channels=channels if learn_p else 1, lean=lean, chunk_size=chunk_size
        )

    @property
    def is_mean(self) -> bool:
        """A fixed ``p = 1``: the plain mean, no clamping."""
        return not isinstance(self.p, Tensor) and self.p == 1.0

    def reset_parameters(self) -> None:
        if isinstance(self.p, Tensor):
            self.p.data.fill_(self._init_p)

    def lean_kernel(self) -> type[LeanAggregation]:
        return MeanAggregation if self.is_mean else type(self)

    def lean_param(self) -> Tensor | None:
        if self.is_mean:
            return None
        p = self.p if isinstance(self.p, Tensor) else torch.tensor(self.p, dtype=torch.float64)
        # |p| >= p_min, keeping the sign (a learned p can approach 0).
        return torch.where(p >= 0, p.clamp_min(self.p_min), p.clamp_max(-self.p_min))

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        if self.is_mean:
            return scatter(x, index, 0, dim_size, reduce="mean")
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
        deg = degree(index, dim_size, s.dtype)
        return _power_output(r_node, s, deg, p)

    @staticmethod
    def lean_forward(lf: LeanForward, param: Tensor) -> tuple[Tensor, list[Tensor]]:
        p = param.to(lf.acc)
        ref = _PowerRef(lf.like, lf.n, p)
        for a, b in lf.chunks:
            ref.add(_clamp(lf.plan, lf.msgs(a, b)), lf.dst[a:b])
        r_node = ref.result()
        s = torch.zeros_like(r_node)
        for a, b in lf.chunks:
            d = lf.dst[a:b]
            r = _clamp(lf.plan, lf.msgs(a, b)).div_(r_node.index_select(0, d)).pow_(p)
            s.add_(lf.segment_sum(r, a, b))
            del r
        deg = degree(lf.dst, lf.n, lf.acc)
        out = _power_output(r_node, s, deg, p)
        return out, [r_node, s, out, deg]

    @staticmethod
    def lean_backward(
        lb: LeanBackward, stats: list[Tensor], param: Tensor, g: Tensor
    ) -> Tensor | None:
        r_node, s, out, deg = stats
        plan = lb.plan
        p = param.to(lb.acc)
        has = (deg > 0).unsqueeze(1)
        # d out_v / d m_vu = out_v / (R_v S_v) * (m_vu / R_v)^(p - 1)
        coef = torch.where(has, out / torch.where(has, r_node * s, 1.0), 0.0)
        grad_param = None
        if lb.want_param:
            # d out_v / d p = out_v (sum_u r^p log r / (p S_v) - log(S_v / deg_v) / p^2)
            base = torch.where(has, s / deg.clamp_min(1.0).unsqueeze(1), 1.0)
            grad_param = reduce_param_grad(-(g * out * base.log()) / (p * p), param)
            coef_p = coef * r_node / p
        for a, b in lb.chunks:
            h, d = lb.msgs(a, b), lb.dst[a:b]
            r = lb.exact(h)
            keep = _clamp_mask(plan, r)
            r = r.clamp_(plan.clamp_min, plan.clamp_max).div_(r_node.index_select(0, d))
            if lb.want_param:
                t = r.pow(p)
                t = torch.xlogy(t, r, out=t).mul_(g.index_select(0, d))
                t.mul_(coef_p.index_select(0, d))
                grad_param = grad_param + reduce_param_grad(t, param)
                del t
            gc = g.index_select(0, d).mul_(coef.index_select(0, d))
            gc.mul_(r.pow_(p - 1.0)).mul_(keep)
            del r, keep
            lb.push(h, gc)
            del h, gc
        return grad_param

    @staticmethod
    def fused_forward(
        src: Tensor | None,
        dst: Tensor,
        x: Tensor | None,
        e: Tensor | None,
        param: Tensor | None,
        n: int,
        opts: fused.FusedOptions,
    ) -> tuple[Tensor, list[Tensor]]:
        m = (fused.messages(src, x, e, opts.relu) + opts.eps).clamp(opts.clamp_min, opts.clamp_max)
        p = param.to(m.dtype)
        r_node = _fused_reference(m, dst, n, p, opts.sign)
        # exp(p log r) for r^p: vectorised exp / log, where pow is a scalar call per element.
        r = torch.exp(p * torch.log(m / r_node.index_select(0, dst)))
        s = fused.segment_sum(r, dst, n)
        deg = degree(dst, n, m.dtype)
        out = _power_output(r_node, s, deg, p)
        return out, [r_node, s, out, deg]

    @staticmethod
    def fused_backward(
        src: Tensor | None,
        dst: Tensor,
        x: Tensor | None,
        e: Tensor | None,
        param: Tensor | None,
        stats: list[Tensor],
        g: Tensor,
        n: int,
        opts: fused.FusedOptions,
    ) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        r_node, s, out, deg = stats
        raw = fused.messages(src, x, e, opts.relu) + opts.eps
        p = param.to(raw.dtype)
        keep = raw >= opts.clamp_min
        if opts.clamp_max is not None:
            keep = keep & (raw <= opts.clamp_max)
        r = raw.clamp(opts.clamp_min, opts.clamp_max) / r_node.index_select(0, dst)
        log_r = torch.log(r)  # r > 0: the messages are clamped to at least clamp_min > 0
        rp = torch.exp(p * log_r)
        has = (deg > 0).unsqueeze(1)
        # d out_v / d m_vu = out_v / (R_v S_v) * (m_vu / R_v)^(p - 1)
        coef = torch.where(has, out / torch.where(has, r_node * s, 1.0), 0.0)
        gd = g.index_select(0, dst)
        grad_param = None
        if opts.want_param:
            # d out_v / d p = out_v (sum_u r^p log r / (p S_v) - log(S_v / deg_v) / p^2)
            base = torch.where(has, s / deg.clamp_min(1.0).unsqueeze(1), 1.0)
            grad_param = reduce_param_grad(-(g * out * base.log()) / (p * p), param)
            coef_p = (coef * r_node / p).index_select(0, dst)
            grad_param = grad_param + reduce_param_grad(rp * log_r * gd * coef_p, param)
        dm = gd * coef.index_select(0, dst) * (rp / r) * keep
        gx, ge = fused.push(src, x, e, dm, opts)
        return gx, ge, grad_param

    def _repr_args(self) -> list[str]:
        args = [f"learn={self.learn}"]
        if not self.learn and self.p != 1.0:  # PyG's repr, plus a fixed p other than its 1
            args.insert(0, f"p={self.p:g}")
        return args


class PowerSumAggregation(DegreeScaled, PowerMeanAggregation):
    r"""PowerMean_Sum of DeeperGCN: :class:`PowerMeanAggregation` times
    :math:`\deg(v)^{\sigma(y)}`.

    Args:
        y (float, optional): Initial :math:`y`. (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        y_channels (int, optional): ``1`` for a scalar :math:`y`, else one per channel.
            (default: ``1``)
        **kwargs: The arguments of :class:`PowerMeanAggregation`.
    """

    names = ("power_sum",)

    @classmethod
    def from_options(
        cls,
        name: str,
        *,
        p: float = 1.0,
        learn_p: bool = False,
        y: float = 0.0,
        learn_y: bool = False,
        channels: int = 1,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> PowerSumAggregation:
        return cls(
            y,
            learn_y,
            channels if learn_y else 1,
            p=p,
            learn=learn_p,
            channels=channels if learn_p else 1,
            lean=lean,
            chunk_size=chunk_size,
        )
