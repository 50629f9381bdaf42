r"""DeepGCNs' GIN variant (Xu, Hu, Leskovec, Jegelka, "How Powerful are Graph Neural
Networks?", ICLR 2019)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from revgnn.nn.conv.point_conv import PointConv, register_point_conv
from revgnn.nn.knn import gather_neighbors
from revgnn.nn.point_mlp import PointMLP

__all__ = ["PointGINConv"]


@register_point_conv("point_gin")
class PointGINConv(PointConv):
    r"""GIN,

    .. math::

        \mathbf{h}'_i = h\Big((1 + \epsilon)\,\mathbf{x}_i + \sum_{j \in \mathcal{N}(i)}
        \mathbf{x}_j\Big),

    :math:`h` a :class:`~revgnn.nn.PointMLP` :math:`C \to C'`, :math:`\epsilon` a learnable
    scalar (initially ``eps``).

    Args:
        in_channels (int): :math:`C`.
        out_channels (int): :math:`C'`.
        act (str, optional): Activation of :math:`h`. (default: ``"relu"``)
        norm (str, optional): Normalisation of :math:`h`. (default: ``"batch"``)
        bias (bool): Bias of :math:`h`'s linear map. (default: ``True``)
        eps (float): Initial :math:`\epsilon`. (default: ``0.0``)

    Shapes:
        dense :math:`(B, N, C)`, :math:`(B, N, k)` → :math:`(B, N, C')`; sparse
        :math:`(n, C)`, :math:`(2, E)` → :math:`(n, C')`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        act: str | None = "relu",
        norm: str | None = "batch",
        bias: bool = True,
        eps: float = 0.0,
    ) -> None:
        super().__init__(in_channels, out_channels)
        self.nn = PointMLP([in_channels, out_channels], act, norm, bias)
        self.initial_eps = eps
        self.eps = nn.Parameter(torch.tensor([float(eps)]))

    def reset_parameters(self) -> None:
        self.nn.reset_parameters()
        with torch.no_grad():
            self.eps.fill_(self.initial_eps)

    def dense(self, x: Tensor, index: Tensor) -> Tensor:
        total = gather_neighbors(x, index).sum(dim=2)
        return self.nn((1 + self.eps) * x + total)

    def sparse(self, x: Tensor, edge_index: Tensor) -> Tensor:
        j, i = edge_index
        total = scatter(x[j], i, dim=0, dim_size=x.size(0), reduce="sum")
        return self.nn((1 + self.eps) * x + total)
