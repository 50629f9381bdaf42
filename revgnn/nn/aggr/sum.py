"""Sum of the messages."""

from __future__ import annotations

from torch import Tensor
from torch_geometric.utils import scatter

from revgnn.nn.aggr import fused
from revgnn.nn.aggr.base import LeanAggregation
from revgnn.nn.aggr.lean import LeanBackward, LeanForward

__all__ = ["SumAggregation"]


class SumAggregation(LeanAggregation):
    r"""Sum of the messages, :math:`\mathbf{m}_v = \sum_u \mathbf{m}_{vu}`.

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)
    """

    names = ("sum", "add")
    family = "mean"

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return scatter(x, index, 0, dim_size, reduce="sum")

    @staticmethod
    def lean_forward(lf: LeanForward, param: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        out = lf.like.new_zeros(lf.n, lf.like.size(1))
        for a, b in lf.chunks:
            m = lf.msgs(a, b)
            out.add_(lf.segment_sum(m, a, b))
            del m
        return out, []

    @staticmethod
    def lean_backward(
        lb: LeanBackward, stats: list[Tensor], param: Tensor | None, g: Tensor
    ) -> None:
        for a, b in lb.chunks:
            lb.push(lb.msgs(a, b), g.index_select(0, lb.dst[a:b]))

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
        return fused.segment_sum(m, dst, n), []

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
        gx, ge = fused.push(src, x, e, g.index_select(0, dst), opts)
        return gx, ge, None
