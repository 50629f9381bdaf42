"""A per-node MLP that ignores the graph: the graph-free baseline operator."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from revgnn.nn.conv.registry import register_conv
from revgnn.nn.norm import norm_layer
from revgnn.utils.modules import reset_module

__all__ = ["NodeMLP", "mlp"]


class NodeMLP(nn.Module):
    r"""Linear -> Norm -> ReLU -> Linear on each node, ignoring the graph: the ``"mlp"``
    operator (a graph-free baseline with the same block structure as the GNNs).

    Args:
        in_channels (int): Input width.
        out_channels (int, optional): Output width. (default: ``in_channels``)
        norm (str, optional): Normalisation of the hidden layer, or ``None``.
            (default: ``"batch"``)
        expansion (int, optional): Hidden width in multiples of ``out_channels``.
            (default: ``2``)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`; ``edge_index`` and keyword arguments
          are accepted and ignored.
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        norm: str | None = "batch",
        expansion: int = 2,
    ) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        if expansion < 1:
            raise ValueError(f"expansion={expansion} must be at least 1")
        self.in_channels, self.out_channels = in_channels, out_channels
        hidden = out_channels * expansion
        norm_module = norm_layer(norm, hidden)
        layers: list[nn.Module] = [nn.Linear(in_channels, hidden)]
        if norm_module is not None:
            layers.append(norm_module)
        layers += [nn.ReLU(), nn.Linear(hidden, out_channels)]
        self.mlp = nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        reset_module(self.mlp)

    def forward(self, x: Tensor, edge_index: Any = None, **kwargs: Any) -> Tensor:
        return self.mlp(x)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"


@register_conv("mlp", edge_features=False)
def mlp(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    norm: str | None = "batch",
    expansion: int = 2,
) -> NodeMLP:
    """A :class:`NodeMLP`."""
    return NodeMLP(in_channels, out_channels, norm, expansion)
