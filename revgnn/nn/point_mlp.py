r"""DeepGCNs' shared MLP: per layer Linear → activation → normalisation (→ dropout).

The layer order is the reference's ``BasicConv`` / ``MLP`` (Li et al., ICCV 2019): the
normalisation follows the activation. Channels are the last dimension and every leading
dimension is a point (or an edge): :math:`(\dots, C)`, so one module serves clouds
:math:`(B, N, C)`, gathered neighbourhoods :math:`(B, N, k, C)` and graphs :math:`(n, C)`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from revgnn.nn.dropout import Dropout
from revgnn.utils.checks import check_probability

__all__ = ["ACTIVATIONS", "NORMS", "PointMLP", "PointNorm", "activation"]

#: Activation names (LeakyReLU's and PReLU's slope 0.2, as in the reference).
ACTIVATIONS = ("relu", "leakyrelu", "prelu")
#: Normalisation names: ``"batch"`` over every point of the batch, ``"instance"`` over the
#: points of each cloud (dimension 0 of a 3- or 4-dimensional input), or ``None``.
NORMS = ("batch", "instance")


def activation(name: str | None) -> nn.Module | None:
    """The activation module of a name in :data:`ACTIVATIONS`, or ``None`` for ``None``."""
    if name is None or name == "none":
        return None
    if name == "relu":
        return nn.ReLU()
    if name == "leakyrelu":
        return nn.LeakyReLU(0.2)
    if name == "prelu":
        return nn.PReLU(init=0.2)
    raise ValueError(f"act={name!r} is not one of {', '.join(ACTIVATIONS)} or None")


class PointNorm(nn.Module):
    """Batch or instance normalisation of channels-last features :math:`(\\dots, C)`.

    ``"batch"`` normalises each channel over all leading dimensions (BatchNorm1d on the
    flattened points, with running statistics); ``"instance"`` over all but the first (each
    cloud on its own, no running statistics, no affine, as the reference's InstanceNorm2d).
    """

    def __init__(self, norm: str, channels: int) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm={norm!r} is not one of {', '.join(NORMS)} or None")
        self.norm = norm
        self.bn = nn.BatchNorm1d(channels) if norm == "batch" else None

    def reset_parameters(self) -> None:
        if self.bn is not None:
            self.bn.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if self.bn is not None:
            return self.bn(x.reshape(-1, x.size(-1))).view(x.shape)
        if x.dim() < 3:
            raise ValueError(
                f"norm='instance' needs clouds [batch, points, ..., channels], got {list(x.shape)}"
            )
        dims = tuple(range(1, x.dim() - 1))
        var, mean = torch.var_mean(x, dim=dims, keepdim=True, unbiased=False)
        return (x - mean) * torch.rsqrt(var + 1e-5)

    def extra_repr(self) -> str:
        return self.norm


class PointMLP(nn.Sequential):
    r"""Linear → activation → normalisation (→ dropout) for each consecutive pair of
    ``channels``; Kaiming-normal weights and zero biases (the reference's initialisation).

    Args:
        channels (sequence of int): Widths, e.g. ``[128, 64]`` for one layer.
        act (str, optional): ``"relu"``, ``"leakyrelu"``, ``"prelu"`` or ``None``.
            (default: ``"relu"``)
        norm (str, optional): ``"batch"``, ``"instance"`` or ``None``. (default: ``"batch"``)
        bias (bool): Biases of the linear maps. (default: ``True``)
        dropout (float): Dropout after each layer. (default: ``0.0``)

    Shapes:
        :math:`(\dots, C_0)` → :math:`(\dots, C_{-1})`.
    """

    def __init__(
        self,
        channels: Sequence[int],
        act: str | None = "relu",
        norm: str | None = "batch",
        bias: bool = True,
        dropout: float = 0.0,
    ) -> None:
        channels = list(channels)
        if len(channels) < 2 or min(channels) < 1:
            raise ValueError(f"channels={channels} must list at least two positive widths")
        check_probability("dropout", dropout)
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(channels):
            layers.append(nn.Linear(c_in, c_out, bias=bias))
            act_module = activation(act)
            if act_module is not None:
                layers.append(act_module)
            if norm is not None:
                layers.append(PointNorm(norm, c_out))
            if dropout > 0:
                layers.append(Dropout(dropout))
        super().__init__(*layers)
        self.channels = channels
        self.reset_parameters()

    @property
    def first(self) -> nn.Linear:
        """The first linear map (convs that split it by input blocks use its weight)."""
        return self[0]

    def tail(self, x: Tensor) -> Tensor:
        """Everything after the first linear map, applied to its output ``x``."""
        for layer in list(self)[1:]:
            x = layer(x)
        return x

    def reset_parameters(self) -> None:
        for m in self:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif hasattr(m, "reset_parameters"):
                m.reset_parameters()
