r"""The block vocabulary of DeeperGCN, shared by DeeperGCN and RevGNN.

With :math:`f(\mathbf{X}) = \mathrm{GConv}(\mathbf{X}, \mathbf{A}, \mathbf{U})`:

* ``"res+"`` (pre-activation): :math:`\mathbf{X} + \mathrm{GConv}(\mathrm{Dropout}(
  \mathrm{ReLU}(\mathrm{Norm}(\mathbf{X}))))`; its residual function is :class:`PreActConv`,
  which is also the group function of RevGNN's reversible blocks;
* ``"res"``: :math:`\mathrm{Dropout}(\mathbf{X} + \mathrm{ReLU}(\mathrm{Norm}(f(\mathbf{X}))))`;
* ``"dense"``: :math:`\mathrm{Dropout}([\mathbf{X} \,\|\, \mathrm{ReLU}(\mathrm{Norm}(
  f(\mathbf{X})))])` (the width grows by the conv's output width);
* ``"plain"``: :math:`\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(f(\mathbf{X}))))`.

Paper: Li, Xiong, Thabet, Ghanem, "DeeperGCN: All You Need to Train Deeper GCNs", 2020; the
``res``/``dense``/``plain`` orderings follow the authors' code and PyG's
:class:`~torch_geometric.nn.models.DeepGCNLayer`.

Every block can drop edges (DropEdge) with ``edge_dropout``: a fresh random subset of the
edges per call, applied to ``edge_index`` and to the ``edge_attr`` / ``edge_weight`` keyword
arguments. Like ordinary dropout it draws from torch's generator, which reversible blocks
record and replay in their backward pass.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.resolver import activation_resolver, normalization_resolver

from revgnn.reversible import reset_module

__all__ = ["BLOCKS", "DeepGCNBlock", "PreActConv", "drop_edges", "norm_layer"]

#: The block kinds of :class:`DeepGCNBlock`.
BLOCKS = ("res+", "res", "dense", "plain")

#: Keyword arguments that hold one row per edge and are dropped with their edges.
EDGE_KWARGS = ("edge_attr", "edge_weight")


def norm_layer(norm: str | None, channels: int) -> nn.Module | None:
    """A normalisation layer for node features :math:`(N, C)`, or ``None``.

    ``"layer"`` is a per-node :class:`torch.nn.LayerNorm` (DeeperGCN's); PyG's resolver would
    give its graph-wise LayerNorm, which normalises over all nodes together. Every other name
    goes to PyG's ``normalization_resolver`` (``"batch"``, ``"instance"``, ``"graph"``, ...).
    """
    if norm is None:
        return None
    if not isinstance(norm, str):
        raise TypeError(f"norm must be a name or None, got {type(norm).__name__}")
    if norm == "layer":
        return nn.LayerNorm(channels)
    return normalization_resolver(norm, channels)


def drop_edges(
    edge_index: Any, kwargs: dict[str, Any], p: float, training: bool
) -> tuple[Any, dict[str, Any]]:
    """Keep each edge with probability ``1 - p`` (DropEdge); per-edge kwargs follow."""
    if not training or p == 0.0:
        return edge_index, kwargs
    if not isinstance(edge_index, Tensor):
        raise TypeError(
            f"edge_dropout needs edge_index as a [2, E] tensor, got {type(edge_index).__name__}"
        )
    keep = torch.rand(edge_index.size(1), device=edge_index.device) >= p
    kwargs = dict(kwargs)
    for name in EDGE_KWARGS:
        if kwargs.get(name) is not None:
            kwargs[name] = kwargs[name][keep]
    return edge_index[:, keep], kwargs


def _check_p(name: str, p: float) -> None:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name}={p} must lie in [0, 1)")


class PreActConv(nn.Module):
    r"""Norm -> activation -> dropout -> conv, the residual function of a res+ block.

    Dropout is either ordinary (``dropout > 0``: a fresh mask per call, which reversible
    blocks replay exactly in their backward pass) or given explicitly as ``dropout_mask``,
    a pre-scaled mask shared by all layers (:class:`~revgnn.SharedDropout`). When a mask is
    given, ``dropout`` is not applied as well.

    Args:
        conv (torch.nn.Module): The graph convolution, called as
            ``conv(x, edge_index, **kwargs)``.
        channels (int): Width of the input, for the normalisation layer.
        norm (str, optional): Normalisation (see :func:`norm_layer`: ``"batch"``,
            ``"layer"``, ...), or ``None``. (default: ``"batch"``)
        act (str, optional): Activation (``activation_resolver`` name) or ``None``.
            (default: ``"relu"``)
        dropout (float, optional): Ordinary dropout probability. (default: ``0.0``)
        edge_dropout (float, optional): Probability of dropping each edge in a training
            call (see the module docstring). (default: ``0.0``)

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`, an optional
          dropout mask :math:`(N, F)`; keyword arguments go to ``conv``.
        - **output:** whatever ``conv`` returns, :math:`(N, F')`.
    """

    def __init__(
        self,
        conv: nn.Module,
        channels: int,
        norm: str | None = "batch",
        act: str | None = "relu",
        dropout: float = 0.0,
        edge_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        _check_p("dropout", dropout)
        _check_p("edge_dropout", edge_dropout)
        self.channels = channels
        self.norm = norm_layer(norm, channels)
        self.act = activation_resolver(act) if act is not None else None
        self.dropout = dropout
        self.edge_dropout = edge_dropout
        self.conv = conv

    def reset_parameters(self) -> None:
        if self.norm is not None:
            reset_module(self.norm)
        reset_module(self.conv)

    def forward(
        self, x: Tensor, edge_index: Any, dropout_mask: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        if self.norm is not None:
            x = self.norm(x)
        if self.act is not None:
            x = self.act(x)
        if dropout_mask is not None:
            if self.training:
                x = x * dropout_mask
        elif self.dropout > 0.0:
            x = F.dropout(x, p=self.dropout, training=self.training)
        edge_index, kwargs = drop_edges(edge_index, kwargs, self.edge_dropout, self.training)
        return self.conv(x, edge_index, **kwargs)

    def __repr__(self) -> str:
        norm = type(self.norm).__name__ if self.norm is not None else None
        edge = f", edge_dropout={self.edge_dropout}" if self.edge_dropout else ""
        return (
            f"{self.__class__.__name__}({self.conv}, channels={self.channels}, norm={norm}, "
            f"act={self.act}, dropout={self.dropout}{edge})"
        )


class DeepGCNBlock(nn.Module):
    r"""One DeeperGCN layer of kind ``"res+"``, ``"res"``, ``"dense"`` or ``"plain"`` (see the
    module docstring).

    Args:
        conv (torch.nn.Module): The graph convolution, ``conv(x, edge_index, **kwargs)``,
            mapping ``channels`` to ``out_channels`` features.
        channels (int): Input width.
        block (str, optional): The block kind. (default: ``"res+"``)
        norm (str, optional): Normalisation (see :func:`norm_layer`) or ``None``.
            (default: ``"batch"``)
        act (str, optional): Activation or ``None``. (default: ``"relu"``)
        dropout (float, optional): Dropout probability. (default: ``0.0``)
        edge_dropout (float, optional): Edge dropout probability. (default: ``0.0``)
        out_channels (int, optional): The conv's output width; must equal ``channels`` for
            ``"res+"`` and ``"res"``. (default: ``channels``)

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`, an optional
          dropout mask :math:`(N, F)` (``"res+"`` only); keyword arguments go to ``conv``.
        - **output:** :math:`(N, F)`, or :math:`(N, F + F_{out})` for ``"dense"``.
    """

    def __init__(
        self,
        conv: nn.Module,
        channels: int,
        block: str = "res+",
        norm: str | None = "batch",
        act: str | None = "relu",
        dropout: float = 0.0,
        edge_dropout: float = 0.0,
        out_channels: int | None = None,
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"block={block!r} is not one of {', '.join(BLOCKS)}")
        out_channels = channels if out_channels is None else out_channels
        if block in ("res+", "res") and out_channels != channels:
            raise ValueError(
                f"block={block!r} adds the input to the conv's output: out_channels="
                f"{out_channels} must equal channels={channels}"
            )
        _check_p("dropout", dropout)
        _check_p("edge_dropout", edge_dropout)
        self.block = block
        self.channels = channels
        self.out_channels = out_channels
        self.dropout = dropout
        self.edge_dropout = edge_dropout
        if block == "res+":
            self.fn = PreActConv(conv, channels, norm, act, dropout, edge_dropout)
        else:
            self.conv = conv
            self.norm = norm_layer(norm, out_channels)
            self.act = activation_resolver(act) if act is not None else None

    def reset_parameters(self) -> None:
        if self.block == "res+":
            self.fn.reset_parameters()
            return
        reset_module(self.conv)
        if self.norm is not None:
            reset_module(self.norm)

    def forward(
        self, x: Tensor, edge_index: Any, dropout_mask: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        if self.block == "res+":
            return x + self.fn(x, edge_index, dropout_mask, **kwargs)
        if dropout_mask is not None:
            raise ValueError(f"dropout_mask is only supported by res+ blocks, not {self.block!r}")
        edge_index, kwargs = drop_edges(edge_index, kwargs, self.edge_dropout, self.training)
        h = self.conv(x, edge_index, **kwargs)
        if self.norm is not None:
            h = self.norm(h)
        if self.act is not None:
            h = self.act(h)
        if self.block == "res":
            h = x + h
        elif self.block == "dense":
            h = torch.cat([x, h], dim=-1)
        return F.dropout(h, p=self.dropout, training=self.training)

    @property
    def conv_module(self) -> nn.Module:
        return self.fn.conv if self.block == "res+" else self.conv

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.conv_module}, block={self.block!r}, "
            f"channels={self.channels}, dropout={self.dropout})"
        )
