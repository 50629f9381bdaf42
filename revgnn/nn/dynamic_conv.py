r"""A DeepGCN layer on a dynamic graph: the dilated k-NN graph of its own input, then a conv
(the reference's ``DynConv2d``; Li, Müller, Thabet, Ghanem, ICCV 2019)."""

from __future__ import annotations

from torch import Tensor, nn

from revgnn.nn.conv.point_conv import point_conv_resolver
from revgnn.nn.graph_tape import built_graph
from revgnn.nn.knn import DilatedKnnGraph

__all__ = ["DynamicConv"]


class DynamicConv(nn.Module):
    r""":math:`\mathbf{H}' = \mathrm{conv}(\mathbf{H}, \mathcal{G}^{(d)}_k(\mathbf{H}))`: the
    graph is rebuilt from the features the layer receives, so a layer inside a reversible
    block depends on nothing but its input (the block stays invertible, and the graph is
    recomputed in the backward pass instead of stored).

    Args:
        in_channels (int): Input width.
        out_channels (int): Output width.
        conv (str): A registered DeepGCN conv (``"edge"``, ``"mr"``, ``"point_sage"``,
            ``"point_gin"``).
            (default: ``"edge"``)
        k (int): Neighbours per point. (default: ``9``)
        dilation (int): Dilation of the k-NN graph. (default: ``1``)
        stochastic (bool): Stochastic dilation in training. (default: ``False``)
        epsilon (float): Its probability. (default: ``0.2``)
        act, norm, bias: The conv's MLP (see :class:`~revgnn.nn.PointMLP`).
        chunk_size (int, optional): Query points per k-NN distance chunk.
        keep_graph (bool): Inside a reversible block, keep the k-NN graph of the forward pass
            (compact indices, :math:`2k` bytes a point for clouds of up to 32,767 points) for
            the backward pass instead of searching it again (:mod:`revgnn.nn.graph_tape`):
            faster, at memory that grows with depth. (default: ``False``)

    Shapes:
        - **input:** points :math:`(B, N, C)`; or :math:`(B N, C)` with ``num_points=N`` (as
          a reversible stack passes them); or nodes :math:`(n, C)` with a static
          ``edge_index`` :math:`(2, E)`; a given ``index`` (neighbours :math:`(B, N, k)` or an
          ``edge_index``) is used instead of the k-NN graph.
        - **output:** the input's layout with ``out_channels`` channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        conv: str = "edge",
        k: int = 9,
        dilation: int = 1,
        stochastic: bool = False,
        epsilon: float = 0.2,
        act: str | None = "relu",
        norm: str | None = "batch",
        bias: bool = True,
        chunk_size: int | None = None,
        keep_graph: bool = False,
    ) -> None:
        super().__init__()
        self.conv = point_conv_resolver(conv)(in_channels, out_channels, act, norm, bias)
        self.knn = DilatedKnnGraph(k, dilation, stochastic, epsilon, chunk_size)
        self.keep_graph = keep_graph

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def extra_repr(self) -> str:
        return "keep_graph=True" if self.keep_graph else ""

    def forward(
        self, x: Tensor, index: Tensor | None = None, num_points: int | None = None
    ) -> Tensor:
        flat = num_points is not None
        if flat:
            if x.dim() != 2 or x.size(0) % num_points != 0:
                raise ValueError(
                    f"num_points={num_points} must divide the rows of x {list(x.shape)}"
                )
            x = x.view(-1, num_points, x.size(-1))
        if index is None:
            if x.dim() != 3:
                raise ValueError(
                    f"a k-NN graph needs points [batch, num_points, channels] (or num_points=), "
                    f"got x of shape {list(x.shape)}; pass an edge_index for a static graph"
                )
            self.knn.train(self.training)
            index = built_graph(lambda: self.knn(x), x.size(1)) if self.keep_graph else self.knn(x)
        out = self.conv(x, index)
        return out.reshape(-1, out.size(-1)) if flat else out
