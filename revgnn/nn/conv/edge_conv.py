r"""EdgeConv (Wang et al., "Dynamic Graph CNN for Learning on Point Clouds", TOG 2019), the
DeepGCNs' default conv."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import EdgeConv as PyGEdgeConv

from revgnn.nn.conv.point_conv import PointConv, register_point_conv
from revgnn.nn.conv.registry import register_conv
from revgnn.nn.knn import gather_neighbors
from revgnn.nn.point_mlp import PointMLP

__all__ = ["EdgeConv", "edge"]


@register_point_conv("edge")
class EdgeConv(PointConv):
    r"""EdgeConv,

    .. math::

        \mathbf{h}'_i = \max_{j \in \mathcal{N}(i)} h\big([\mathbf{x}_i,\; \mathbf{x}_j -
        \mathbf{x}_i]\big),

    :math:`h` a :class:`~revgnn.nn.PointMLP` (Linear → act → norm) from :math:`2C` to
    :math:`C'`. The sparse form is PyG's ``EdgeConv`` with the same :math:`h`. The dense form
    splits the first linear map, :math:`W[\mathbf{x}_i, \mathbf{x}_j - \mathbf{x}_i] =
    (W_1 - W_2)\mathbf{x}_i + W_2 \mathbf{x}_j`, so both products run once per point and
    only the :math:`C'`-wide results are gathered: the :math:`(B, N, k, 2C)` input of the
    reference is never built (half the memory and the flops of the first map).

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
        # PyG's conv shares ``self.nn`` and has no parameters of its own: kept out of the
        # module tree so that the state dict lists the weights once.
        object.__setattr__(self, "_pyg", PyGEdgeConv(self.nn, aggr="max"))

    def reset_parameters(self) -> None:
        self.nn.reset_parameters()

    def dense(self, x: Tensor, index: Tensor) -> Tensor:
        c = self.in_channels
        lin = self.nn.first
        w_centre, w_neighbour = lin.weight[:, :c], lin.weight[:, c:]
        centre = nn.functional.linear(x, w_centre - w_neighbour, lin.bias)
        neighbour = nn.functional.linear(x, w_neighbour)
        pre = centre.unsqueeze(2) + gather_neighbors(neighbour, index)
        return self.nn.tail(pre).amax(dim=2)

    def sparse(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self._pyg(x, edge_index)


@register_conv("edge", edge_features=False)
def edge(
    in_channels: int, out_channels: int, edge_dim: int | None, *, act: str = "relu"
) -> EdgeConv:
    """EdgeConv as a RevGNN / DeeperGCN block's conv (no normalisation inside: the block
    normalises).

    Args:
        act (str): Activation of the conv's MLP.
    """
    return EdgeConv(in_channels, out_channels, act=act, norm=None)
