"""Mean of the messages."""

from __future__ import annotations

from torch import Tensor
from torch_geometric.utils import scatter

from revgnn.nn.aggr import fused
from revgnn.nn.aggr.base import LeanAggregation
from revgnn.nn.aggr.lean import LeanBackward, LeanForward, degree

__all__ = ["MeanAggregation"]


class MeanAggregation(LeanAggregation):
    r"""Mean of the messages, :math:`\mathbf{m}_v = \frac{1}{\deg(v)} \sum_u \mathbf{m}_{vu}`
    (0 for isolated nodes).

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)
    """

    names = ("mean",)
    family = "mean"

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return scatter(x, index, 0, dim_size, reduce="mean")

    @staticmethod
    def lean_forward(lf: LeanForward, param: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        out = lf.like.new_zeros(lf.n, lf.like.size(1))
        for a, b in lf.chunks:
            m = lf.msgs(a, b)
            out.add_(lf.segment_sum(m, a, b))
            del m
        deg = degree(lf.dst, lf.n, lf.acc)
        return out.div_(deg.clamp_min(1.0).unsqueeze(1)), [deg]

    @staticmethod
    def lean_backward(
        lb: LeanBackward, stats: list[Tensor], param: Tensor | None, g: Tensor
    ) -> None:
        gg = g / stats[0].clamp_min(1.0).unsqueeze(1)
        for a, b in lb.chunks:
            lb.push(lb.msgs(a, b), gg.index_select(0, lb.dst[a:b]))

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
        deg = degree(dst, n, m.dtype)
        return fused.segment_sum(m, dst, n) / deg.clamp_min(1.0).unsqueeze(1), [deg]

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
        gg = g / stats[0].clamp_min(1.0).unsqueeze(1)
        gx, ge = fused.push(src, x, e, gg.index_select(0, dst), opts)
        return gx, ge, None
