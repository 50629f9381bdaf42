"""Channel-wise maximum of the messages."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from revgnn.nn.aggr import fused
from revgnn.nn.aggr.base import LeanAggregation
from revgnn.nn.aggr.lean import Extreme, LeanBackward, LeanForward

__all__ = ["MaxAggregation"]


class MaxAggregation(LeanAggregation):
    r"""Channel-wise maximum, :math:`\mathbf{m}_v = \max_u \mathbf{m}_{vu}` (0 for isolated
    nodes; ties share the gradient equally, as in :func:`torch.scatter_reduce`).

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path. (default: ``None``)
    """

    names = ("max",)
    family = "max"

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return scatter(x, index, 0, dim_size, reduce="max")

    @staticmethod
    def lean_forward(lf: LeanForward, param: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        ext = Extreme(lf.like, lf.n, "amax")
        for a, b in lf.chunks:
            ext.add(lf.msgs(a, b), lf.dst[a:b])
        out = ext.result()
        return out, [out]

    @staticmethod
    def lean_backward(
        lb: LeanBackward, stats: list[Tensor], param: Tensor | None, g: Tensor
    ) -> None:
        (out,) = stats
        count = torch.zeros_like(out)

        def ties(h: Tensor, d: Tensor) -> Tensor:
            return lb.exact(h).eq_(out.index_select(0, d))  # 1.0 where m_vu == out_v

        chunks = lb.chunks
        if len(chunks) == 1:
            (a, b), d = chunks[0], lb.dst
            h = lb.msgs(a, b)
            eq = ties(h, d)
            count.add_(lb.segment_sum(eq, a, b))
            lb.push(h, eq.div_(count.index_select(0, d)).mul_(g.index_select(0, d)))
            return
        for a, b in chunks:  # the tie counts need every slice before any gradient
            d = lb.dst[a:b]
            eq = ties(lb.raw(a, b), d)
            count.add_(lb.segment_sum(eq, a, b))
            del eq
        for a, b in chunks:
            h, d = lb.msgs(a, b), lb.dst[a:b]
            eq = ties(h, d)
            lb.push(h, eq.div_(count.index_select(0, d)).mul_(g.index_select(0, d)))
            del h, eq

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
        out = fused.segment_extreme(m, dst, n, "amax")
        return out, [out]

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
        (out,) = stats
        m = fused.messages(src, x, e, opts.relu) + opts.eps
        eq = (m == out.index_select(0, dst)).to(m.dtype)  # ties share the gradient
        count = fused.segment_sum(eq, dst, n)
        dm = eq / count.index_select(0, dst) * g.index_select(0, dst)
        gx, ge = fused.push(src, x, e, dm, opts)
        return gx, ge, None
