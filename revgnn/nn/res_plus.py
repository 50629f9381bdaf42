"""The res+ residual connection around a pre-activation function."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from revgnn.utils.modules import reset_module

__all__ = ["ResPlus"]


class ResPlus(nn.Module):
    r"""The DeeperGCN res+ layer :math:`\mathbf{X} + f(\mathbf{X})` around a
    :class:`~revgnn.nn.PreActConv` (or any ``f(x, edge_index, *args, **kwargs)``)."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def reset_parameters(self) -> None:
        reset_module(self.fn)

    def forward(self, x: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> Tensor:
        return x + self.fn(x, edge_index, *args, **kwargs)
