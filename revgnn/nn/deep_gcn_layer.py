r"""PyG's :class:`~torch_geometric.nn.models.DeepGCNLayer`, as a drop-in with revgnn's blocks'
arithmetic (Li, Müller, Thabet, Ghanem, ICCV 2019; Li, Xiong, Thabet, Ghanem, 2020).

* ``"res+"``: :math:`\mathbf{X} + \mathrm{GConv}(\mathrm{Dropout}(\mathrm{Act}(
  \mathrm{Norm}(\mathbf{X}))))`;
* ``"res"`` / ``"dense"`` / ``"plain"``: :math:`\mathrm{Dropout}(\mathbf{X} \oplus
  \mathrm{Act}(\mathrm{Norm}(\mathrm{GConv}(\mathbf{X}))))` with :math:`\oplus` the sum, the
  concatenation or nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from revgnn.nn.deep_gcn_block import BLOCKS
from revgnn.nn.dropout import act_dropout, dropout
from revgnn.nn.norm import activation
from revgnn.utils.autocast import call_conv
from revgnn.utils.checks import check_probability
from revgnn.utils.modules import reset_module
from revgnn.utils.registry import resolve_name

__all__ = ["DeepGCNLayer"]


class DeepGCNLayer(nn.Module):
    r"""One DeepGCN layer with PyG's signature and calling convention (see the module
    docstring): ``layer(x, *args, **kwargs)`` passes everything after ``x`` to the conv
    (``layer(x, edge_index, edge_attr)`` as in PyG's ogbn-proteins example).

    Differences from PyG's class (docs/pyg_compat.md): ``act`` may be a name
    (``"relu"``) as well as a module; ``reset_parameters`` accepts ``norm=None``; with
    ``ckpt_grad`` the conv is checkpointed with the non-reentrant implementation, which
    keeps the gradients of every input (PyG's reentrant one drops those of inputs that do
    not require grad at the call, and warns); the block name is validated with a message. For
    stacks of hundreds of layers, :class:`~revgnn.GroupAddRev` in a
    :class:`~revgnn.ReversibleSequential` keeps activation memory flat instead.

    Args:
        conv (torch.nn.Module, optional): The graph convolution.
        norm (torch.nn.Module, optional): The normalisation layer.
        act (torch.nn.Module or str, optional): The activation.
        block (str): ``"res+"``, ``"res"``, ``"dense"`` or ``"plain"``. (default: ``"res+"``)
        dropout (float): Dropout probability. (default: ``0.0``)
        ckpt_grad (bool): Recompute the conv in the backward pass instead of keeping its
            activations. (default: ``False``)

    Shapes:
        - **input:** node features :math:`(N, F)`, then the conv's arguments.
        - **output:** :math:`(N, F)`, or :math:`(N, 2F)` for ``"dense"``.
    """

    def __init__(
        self,
        conv: nn.Module | None = None,
        norm: nn.Module | None = None,
        act: nn.Module | str | None = None,
        block: str = "res+",
        dropout: float = 0.0,
        ckpt_grad: bool = False,
    ) -> None:
        super().__init__()
        block = resolve_name(block, BLOCKS, "block")
        check_probability("dropout", dropout)
        self.conv, self.norm, self.act = conv, norm, activation(act)
        self.block, self.dropout, self.ckpt_grad = block, dropout, ckpt_grad

    def reset_parameters(self) -> None:
        for module in (self.conv, self.norm):
            if module is not None:
                reset_module(module)

    def _conv(self, h: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if self.conv is None:
            return h
        if self.ckpt_grad and torch.is_grad_enabled() and h.requires_grad:
            return checkpoint(call_conv, self.conv, h, *args, use_reentrant=False, **kwargs)
        return call_conv(self.conv, h, *args, **kwargs)

    def _norm_act(self, h: Tensor) -> Tensor:
        if self.norm is not None:
            h = self.norm(h)
        return self.act(h) if self.act is not None else h

    def forward(self, x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if self.block == "res+":
            h = self.norm(x) if self.norm is not None else x
            h = act_dropout(h, self.act, self.dropout, self.training)
            return x + self._conv(h, *args, **kwargs)
        h = self._norm_act(self._conv(x, *args, **kwargs))
        if self.block == "res":
            h = x + h
        elif self.block == "dense":
            h = torch.cat([x, h], dim=-1)
        return dropout(h, p=self.dropout, training=self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(block={self.block})"
