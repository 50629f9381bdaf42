r"""SoftMax aggregation of DeeperGCN, softmax_sg, and SoftMax_Sum.

:math:`\mathbf{m}_v = \sum_u \mathrm{softmax}_u(\beta \mathbf{m}_{vu}) \, \mathbf{m}_{vu}` with an
inverse temperature :math:`\beta` (a learnable scalar or per-channel vector): :math:`\beta \to 0`
is the mean, :math:`\beta \to \infty` the maximum. Stable: the per-node maximum is subtracted
before ``exp`` (PyG's plain path does the same); the lean path accumulates in fp32 for fp16/bf16
messages.

Paper: Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper GCNs"
<https://arxiv.org/abs/2006.07739>`_, 2020. Where the paper's code and PyG differ: the original
code detaches the softmax weights whenever :math:`\beta` is not learned (so its "softmax" is
softmax_sg); PyG and this module differentiate through the weights unless ``semi_grad=True``.
softmax_sg with a learned :math:`\beta` is refused (its :math:`\beta` would get no gradient), as
in PyG. SoftMax_Sum exists in the original code only.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr import fused
from revgnn.nn.aggr.base import DegreeScaled, LeanAggregation
from revgnn.nn.aggr.lean import (
    Extreme,
    LeanBackward,
    LeanForward,
    reduce_param_grad,
)

__all__ = ["SoftmaxAggregation", "SoftmaxSumAggregation"]

# PyG's softmax adds this to the normaliser; both paths do, so they agree to rounding.
SOFTMAX_EPS = 1e-16


class SoftmaxAggregation(LeanAggregation):
    r"""SoftMax aggregation,
    :math:`\mathbf{m}_v = \sum_u \mathrm{softmax}_u(\beta \mathbf{m}_{vu}) \mathbf{m}_{vu}`
    (see the module docstring).

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
        - **input:** messages :math:`(E, D)`, index :math:`(E,)` or ptr :math:`(N + 1,)`.
        - **output:** :math:`(N, D)`.
    """

    names = ("softmax", "softmax_sg")
    family = "softmax"

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
        self.t = self.learnable(t, learn, channels, "t")

    @classmethod
    def from_options(
        cls,
        name: str,
        *,
        t: float = 1.0,
        learn_t: bool = False,
        channels: int = 1,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> SoftmaxAggregation:
        return cls(
            t,
            learn_t,
            semi_grad=name == "softmax_sg",
            channels=channels if learn_t else 1,
            lean=lean,
            chunk_size=chunk_size,
        )

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

    @staticmethod
    def lean_forward(lf: LeanForward, param: Tensor) -> tuple[Tensor, list[Tensor]]:
        beta = param.to(lf.acc)
        ext = Extreme(lf.like, lf.n, "amax")
        for a, b in lf.chunks:
            ext.add(lf.msgs(a, b) * beta, lf.dst[a:b])
        smax = ext.result()
        den = torch.zeros_like(smax)
        num = torch.zeros_like(smax)
        for a, b in lf.chunks:
            m, d = lf.msgs(a, b), lf.dst[a:b]
            ex = smax.index_select(0, d).neg_().addcmul_(m, beta).exp_()
            den.add_(lf.segment_sum(ex, a, b))
            num.add_(lf.segment_sum(ex.mul_(m), a, b))
            del ex, m
        den.add_(SOFTMAX_EPS)
        out = num.div_(den)
        return out, [smax, den, out]

    @staticmethod
    def lean_backward(
        lb: LeanBackward, stats: list[Tensor], param: Tensor, g: Tensor
    ) -> Tensor | None:
        smax, den, out = stats
        plan = lb.plan
        beta = param.to(lb.acc)
        grad_param = None
        for a, b in lb.chunks:
            h, d = lb.msgs(a, b), lb.dst[a:b]
            hd = h.detach().to(lb.acc)  # m = hd + eps, never materialised
            w = (hd * beta).add_(beta * plan.eps).sub_(smax.index_select(0, d)).exp_()
            gw = w.div_(den.index_select(0, d)).mul_(g.index_select(0, d))  # g_v w_vu
            if not plan.semi_grad:
                # d out_v / d m_vu = w_vu (1 + beta (m_vu - out_v)),
                # d out_v / d beta = sum_u w_vu m_vu (m_vu - out_v)
                t = out.index_select(0, d).neg_().add_(hd).add_(plan.eps).mul_(gw)
                gw.addcmul_(t, beta)  # g_v w_vu (1 + beta (m_vu - out_v))
                if lb.want_param:  # sum of t * m_vu, with m_vu = hd + eps
                    gp = reduce_param_grad(t, param) * plan.eps
                    gp = gp + reduce_param_grad(t.mul_(hd), param)
                    grad_param = gp if grad_param is None else grad_param + gp
                del t
            del hd
            lb.push(h, gw)
            del h, w, gw
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
        m = fused.messages(src, x, e, opts.relu) + opts.eps
        s = m * param.to(m.dtype)
        smax = fused.segment_extreme(s, dst, n, "amax")
        ex = torch.exp(s - smax.index_select(0, dst))
        den = fused.segment_sum(ex, dst, n) + SOFTMAX_EPS
        out = fused.segment_sum(ex * m, dst, n) / den
        return out, [smax, den, out]

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
        smax, den, out = stats
        m = fused.messages(src, x, e, opts.relu) + opts.eps
        beta = param.to(m.dtype)
        w = torch.exp(m * beta - smax.index_select(0, dst)) / den.index_select(0, dst)
        dm = w * g.index_select(0, dst)  # g_v w_vu
        grad_param = None
        if not opts.semi_grad:
            t = (m - out.index_select(0, dst)) * dm
            if opts.want_param:
                grad_param = reduce_param_grad(t * m, param)
            dm = dm + t * beta  # g_v w_vu (1 + beta (m_vu - out_v))
        gx, ge = fused.push(src, x, e, dm, opts)
        return gx, ge, grad_param

    def _repr_args(self) -> list[str]:
        args = [f"learn={self.learn}"]
        if self.semi_grad:
            args.append("semi_grad=True")
        return args


class SoftmaxSumAggregation(DegreeScaled, SoftmaxAggregation):
    r"""SoftMax_Sum of DeeperGCN: :class:`SoftmaxAggregation` times
    :math:`\deg(v)^{\sigma(y)}`.

    Args:
        y (float, optional): Initial :math:`y` (:math:`\sigma(0) = 0.5`). (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        y_channels (int, optional): ``1`` for a scalar :math:`y`, else one per channel.
            (default: ``1``)
        **kwargs: The arguments of :class:`SoftmaxAggregation`.
    """

    names = ("softmax_sum",)

    @classmethod
    def from_options(
        cls,
        name: str,
        *,
        t: float = 1.0,
        learn_t: bool = False,
        y: float = 0.0,
        learn_y: bool = False,
        channels: int = 1,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> SoftmaxSumAggregation:
        return cls(
            y,
            learn_y,
            channels if learn_y else 1,
            t=t,
            learn=learn_t,
            channels=channels if learn_t else 1,
            lean=lean,
            chunk_size=chunk_size,
        )
