"""Channel-wise maximum of the messages."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter

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
