"""The output side the models share: a pre-activation and a linear layer."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.nn.dropout import relu_dropout
from revgnn.nn.norm import norm_layer
from revgnn.utils.checks import check_probability
from revgnn.utils.modules import reset_module

__all__ = ["Head"]


class Head(nn.Module):
    r""":math:`\mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(
    \mathbf{H}))))`, the output of a pre-activation (res+) network (DeeperGCN, RevGNN); with
    ``pre_activation=False`` only the linear layer (DeeperGCN's res / dense / plain).

    Args:
        in_channels (int): Width of :math:`\mathbf{H}`.
        out_channels (int): Outputs (classes or tasks).
        norm (str, optional): Normalisation (:func:`~revgnn.nn.norm.norm_layer`).
            (default: ``"batch"``)
        dropout (float, optional): Dropout before the linear layer. (default: ``0.0``)
        pre_activation (bool, optional): Norm -> ReLU -> Dropout first. (default: ``True``)

    Shapes:
        - **input:** :math:`(N, F_{in})`
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm: str | None = "batch",
        dropout: float = 0.0,
        pre_activation: bool = True,
    ) -> None:
        super().__init__()
        check_probability("dropout", dropout)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.pre_activation = pre_activation
        self.dropout = dropout
        self.norm = norm_layer(norm, in_channels) if pre_activation else None
        self.lin = nn.Linear(in_channels, out_channels)

    def reset_parameters(self) -> None:
        if self.norm is not None:
            reset_module(self.norm)
        self.lin.reset_parameters()

    def init_bias(self, bias: Tensor) -> None:
        """Start the linear layer's bias at ``bias``: the training labels' prior
        (:meth:`revgnn.training.Task.prior_logits`) under ``head_bias="prior"``."""
        if bias.shape != self.lin.bias.shape:
            raise ValueError(
                f"bias of shape {tuple(bias.shape)} does not fit the head's "
                f"out_channels={self.out_channels}"
            )
        with torch.no_grad():
            self.lin.bias.copy_(bias)

    def forward(self, h: Tensor) -> Tensor:
        if self.pre_activation:
            if self.norm is not None:
                h = self.norm(h)
            h = relu_dropout(h, p=self.dropout, training=self.training)
        return self.lin(h)
