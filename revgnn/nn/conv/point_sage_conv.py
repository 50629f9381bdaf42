r"""DeepGCNs' GraphSAGE variant with a max-pooling aggregator (Hamilton et al., NeurIPS 2017;
as used by Li et al., ICCV 2019)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from revgnn.nn.conv.point_conv import PointConv, register_point_conv
from revgnn.nn.knn import gather_neighbors
from revgnn.nn.point_mlp import PointMLP

__all__ = ["PointSAGEConv"]


@register_point_conv("point_sage")
class PointSAGEConv(PointConv):
    r"""GraphSAGE with max pooling,

    .. math::

        \mathbf{h}'_i = h\big([\mathbf{x}_i,\; \max_{j \in \mathcal{N}(i)}
        g(\mathbf{x}_j)]\big),

    :math:`g` a :class:`~revgnn.nn.PointMLP` :math:`C \to C` and :math:`h` one
    :math:`2C \to C'`. :math:`g` is applied once per point before the gather (it depends on
    :math:`j` alone), so its normalisation sees every point once; the reference applies it to
    the gathered :math:`(B, N, k, C)` copies, weighting each point by its in-degree.

    Args:
        in_channels (int): :math:`C`.
        out_channels (int): :math:`C'`.
        act (str, optional): Activation of :math:`g` and :math:`h`. (default: ``"relu"``)
        norm (str, optional): Their normalisation. (default: ``"batch"``)
        bias (bool): Biases of their linear maps. (default: ``True``)

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
    ) -> None:
        super().__init__(in_channels, out_channels)
        self.nn1 = PointMLP([in_channels, in_channels], act, norm, bias)
        self.nn2 = PointMLP([2 * in_channels, out_channels], act, norm, bias)

    def reset_parameters(self) -> None:
        self.nn1.reset_parameters()
        self.nn2.reset_parameters()

    def dense(self, x: Tensor, index: Tensor) -> Tensor:
        pooled = gather_neighbors(self.nn1(x), index).amax(dim=2)
        return self.nn2(torch.cat([x, pooled], dim=-1))

    def sparse(self, x: Tensor, edge_index: Tensor) -> Tensor:
        j, i = edge_index
        pooled = scatter(self.nn1(x)[j], i, dim=0, dim_size=x.size(0), reduce="max")
        return self.nn2(torch.cat([x, pooled], dim=-1))
