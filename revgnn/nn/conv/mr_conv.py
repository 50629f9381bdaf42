r"""Max-relative graph convolution (MRConv; Li, Müller, Thabet, Ghanem, ICCV 2019)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from revgnn.nn.conv.point_conv import PointConv, register_point_conv
from revgnn.nn.conv.registry import register_conv
from revgnn.nn.knn import gather_neighbors
from revgnn.nn.point_mlp import PointMLP

__all__ = ["MRConv", "mr"]


@register_point_conv("mr")
class MRConv(PointConv):
    r"""Max-relative graph convolution,

    .. math::

        \mathbf{h}'_i = h\big([\mathbf{x}_i,\; \max_{j \in \mathcal{N}(i)}
        (\mathbf{x}_j - \mathbf{x}_i)]\big),

    :math:`h` a :class:`~revgnn.nn.PointMLP` from :math:`2C` to :math:`C'`; the maximum is
    per channel, and 0 for a node without neighbours (sparse form). The dense form takes
    :math:`\max_j \mathbf{x}_j - \mathbf{x}_i`, the same value without a :math:`(B, N, k, C)`
    difference tensor.

    Args:
        in_channels (int): :math:`C`.
        out_channels (int): :math:`C'`.
        act (str, optional): Activation of :math:`h`. (default: ``"relu"``)
        norm (str, optional): Normalisation of :math:`h`. (default: ``"batch"``)
        bias (bool): Bias of :math:`h`'s linear map. (default: ``True``)

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
        self.nn = PointMLP([2 * in_channels, out_channels], act, norm, bias)

    def reset_parameters(self) -> None:
        self.nn.reset_parameters()

    def dense(self, x: Tensor, index: Tensor) -> Tensor:
        relative = gather_neighbors(x, index).amax(dim=2) - x
        return self.nn(torch.cat([x, relative], dim=-1))

    def sparse(self, x: Tensor, edge_index: Tensor) -> Tensor:
        j, i = edge_index
        relative = scatter(x[j] - x[i], i, dim=0, dim_size=x.size(0), reduce="max")
        return self.nn(torch.cat([x, relative], dim=-1))


@register_conv("mr", edge_features=False)
def mr(in_channels: int, out_channels: int, edge_dim: int | None, *, act: str = "relu") -> MRConv:
    """MRConv as a RevGNN / DeeperGCN block's conv (no normalisation inside: the block
    normalises).

    Args:
        act (str): Activation of the conv's MLP.
    """
    return MRConv(in_channels, out_channels, act=act, norm=None)
