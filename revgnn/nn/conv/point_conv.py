r"""The base of DeepGCNs' graph convolutions (EdgeConv, MRConv, GraphSAGE, GIN), each with a
dense batched form and a sparse one.

Dense: points :math:`(B, N, C)` and neighbour indices :math:`(B, N, k)` into the same cloud
(a k-NN graph from :mod:`revgnn.nn.knn`): the neighbourhoods are gathered, no ``edge_index``
is built. Sparse: node features :math:`(n, C)` and PyG's ``edge_index`` :math:`(2, E)` (row 0:
the neighbour :math:`j`, row 1: the centre :math:`i`), for general graphs such as PPI. A conv
registered with :func:`register_point_conv` can be named by every DeepGCN block. Names share
the operator namespace of :data:`~revgnn.nn.conv.CONVS`: ``"edge"`` and ``"mr"`` are the same
operators there; the max-pool GraphSAGE and the DeepGCN GIN are ``"point_sage"`` and
``"point_gin"``, since ``"sage"`` and ``"gin"`` are PyG's convolutions.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable

from torch import Tensor, nn

from revgnn.utils.checks import is_sparse_adjacency
from revgnn.utils.registry import Registry
from revgnn.utils.sparse import edge_list

__all__ = ["POINT_CONVS", "PointConv", "point_conv_resolver", "register_point_conv"]

#: DeepGCN convolutions by name: ``name -> class(in_channels, out_channels, act, norm, bias)``.
POINT_CONVS: Registry[type[PointConv]] = Registry("point conv", arg="conv", operators=True)


def register_point_conv(name: str) -> Callable[[type[PointConv]], type[PointConv]]:
    """Class decorator registering a :class:`PointConv` under ``name``."""
    return POINT_CONVS.register(name)


def point_conv_resolver(name: str) -> type[PointConv]:
    """The class of a registered DeepGCN conv name."""
    return POINT_CONVS[name]


class PointConv(nn.Module):
    """A DeepGCN conv: ``forward(x, index)`` takes the dense form (``x`` of shape
    :math:`(B, N, C)`, ``index`` :math:`(B, N, k)`) or the sparse one (``x`` :math:`(n, C)`,
    ``index`` an ``edge_index`` :math:`(2, E)`); subclasses implement :meth:`dense` and
    :meth:`sparse`, computing the same function of the same graph."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if in_channels < 1 or out_channels < 1:
            raise ValueError(
                f"in_channels={in_channels} and out_channels={out_channels} must be >= 1"
            )
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: Tensor, index: Tensor) -> Tensor:
        if x.size(-1) != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects {self.in_channels} input channels, got "
                f"x of shape {list(x.shape)}"
            )
        if x.dim() == 3:
            if index.dim() != 3 or index.shape[:2] != x.shape[:2]:
                raise ValueError(
                    f"points {list(x.shape)} need neighbour indices [{x.size(0)}, "
                    f"{x.size(1)}, k], got {list(index.shape)}"
                )
            return self.dense(x, index)
        if x.dim() == 2:
            if is_sparse_adjacency(index):  # PyG's adj_t: the same graph as its edge list
                index = edge_list(index)[0]
            if index.dim() != 2 or index.size(0) != 2:
                raise ValueError(
                    f"node features {list(x.shape)} need an edge_index [2, num_edges], got "
                    f"{list(index.shape)}"
                )
            return self.sparse(x, index)
        raise ValueError(
            f"x must be points [batch, num_points, channels] or nodes [num_nodes, channels], "
            f"got {list(x.shape)}"
        )

    @abstractmethod
    def dense(self, x: Tensor, index: Tensor) -> Tensor:
        """:math:`(B, N, C)`, :math:`(B, N, k)` → :math:`(B, N, C')`."""

    @abstractmethod
    def sparse(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """:math:`(n, C)`, :math:`(2, E)` → :math:`(n, C')`."""

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"
