r"""The layer kinds of DeeperGCN: res+, res, dense and plain.

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

Every block can drop edges (DropEdge, :func:`~revgnn.nn.drop_edge.drop_edges`) with
``edge_dropout``. The residual kinds (``"res+"``, ``"res"``) can put a learnable scalar gate
:math:`g` on the branch, :math:`\mathbf{X} + g \cdot (\ldots)`: started at 0 (ReZero,
Bachlechner et al., 2020) a deep stack is the identity at initialisation and grows its
branches as it trains, where ungated branches without normalisation add up through the stack
(16 ungated res+ GENConv blocks on Cora, no norm: the loss rose from 1.96 to 5.05 after one
step and the model then predicted one class).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.drop_edge import drop_edges
from revgnn.nn.dropout import dropout
from revgnn.nn.norm import activation, norm_layer
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.utils.autocast import call_conv
from revgnn.utils.checks import check_probability
from revgnn.utils.modules import reset_module
from revgnn.utils.registry import resolve_name

__all__ = ["BLOCKS", "GATED_BLOCKS", "DeepGCNBlock"]

#: The block kinds of :class:`DeepGCNBlock`.
BLOCKS = ("res+", "res", "dense", "plain")
#: The kinds with a residual branch, which ``branch_gate`` gates.
GATED_BLOCKS = ("res+", "res")


class DeepGCNBlock(nn.Module):
    r"""One DeeperGCN layer of kind ``"res+"``, ``"res"``, ``"dense"`` or ``"plain"`` (see the
    module docstring).

    Args:
        conv (torch.nn.Module): The graph convolution, ``conv(x, edge_index, **kwargs)``,
            mapping ``channels`` to ``out_channels`` features.
        channels (int): Input width.
        block (str, optional): The block kind. (default: ``"res+"``)
        norm (str, optional): Normalisation (see :func:`~revgnn.nn.norm.norm_layer`) or ``None``.
            (default: ``"batch"``)
        act (str, optional): Activation or ``None``. (default: ``"relu"``)
        dropout (float, optional): Dropout probability. (default: ``0.0``)
        edge_dropout (float, optional): Edge dropout probability. (default: ``0.0``)
        out_channels (int, optional): The conv's output width; must equal ``channels`` for
            ``"res+"`` and ``"res"``. (default: ``channels``)
        branch_gate (float, optional): A learnable scalar gate on the branch of a residual
            block, starting at this value (``0.0``: ReZero); ``None``: no gate. Not for
            ``"dense"`` or ``"plain"``, which have no identity path. (default: ``None``)

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
        norm: str | nn.Module | None = "batch",
        act: str | nn.Module | None = "relu",
        dropout: float = 0.0,
        edge_dropout: float = 0.0,
        out_channels: int | None = None,
        branch_gate: float | None = None,
    ) -> None:
        super().__init__()
        block = resolve_name(block, BLOCKS, "block")
        out_channels = channels if out_channels is None else out_channels
        if block in ("res+", "res") and out_channels != channels:
            raise ValueError(
                f"block={block!r} adds the input to the conv's output: out_channels="
                f"{out_channels} must equal channels={channels}"
            )
        if branch_gate is not None and block not in GATED_BLOCKS:
            raise ValueError(
                f"branch_gate={branch_gate} gates a residual branch, and block={block!r} has "
                "none: use block='res+' or 'res', or branch_gate=None"
            )
        check_probability("dropout", dropout)
        check_probability("edge_dropout", edge_dropout)
        self.block = block
        self.channels = channels
        self.out_channels = out_channels
        self.dropout = dropout
        self.edge_dropout = edge_dropout
        self.branch_gate = branch_gate
        if block == "res+":
            self.fn = PreActConv(
                conv, channels, norm, act, dropout, edge_dropout, branch_gate=branch_gate
            )
            return
        self.conv = conv
        self.norm = norm_layer(norm, out_channels)
        self.act = activation(act)
        self.gate = None if branch_gate is None else nn.Parameter(torch.tensor(float(branch_gate)))

    def reset_parameters(self) -> None:
        if self.block == "res+":
            self.fn.reset_parameters()
            return
        reset_module(self.conv)
        if self.norm is not None:
            reset_module(self.norm)
        if self.gate is not None:
            with torch.no_grad():
                self.gate.fill_(self.branch_gate)

    def forward(
        self, x: Tensor, edge_index: Any, dropout_mask: Tensor | None = None, **kwargs: Any
    ) -> Tensor:
        if self.block == "res+":
            return x + self.fn(x, edge_index, dropout_mask, **kwargs)
        if dropout_mask is not None:
            raise ValueError(f"dropout_mask is only supported by res+ blocks, not {self.block!r}")
        edge_index, kwargs = drop_edges(edge_index, kwargs, self.edge_dropout, self.training)
        h = call_conv(self.conv, x, edge_index, **kwargs)
        if self.norm is not None:
            h = self.norm(h)
        if self.act is not None:
            h = self.act(h)
        if self.block == "res":
            h = x + (h if self.gate is None else h * self.gate.to(h.dtype))
        elif self.block == "dense":
            h = torch.cat([x, h], dim=-1)
        return dropout(h, p=self.dropout, training=self.training)

    @property
    def conv_module(self) -> nn.Module:
        return self.fn.conv if self.block == "res+" else self.conv

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.conv_module}, block={self.block!r}, "
            f"channels={self.channels}, dropout={self.dropout}"
            + (f", branch_gate={self.branch_gate:g})" if self.branch_gate is not None else ")")
        )
