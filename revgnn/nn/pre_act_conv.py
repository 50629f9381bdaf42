r"""The pre-activation residual function of DeeperGCN's res+ block and of RevGNN's groups.

:math:`f(\mathbf{X}) = \mathrm{GConv}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(\mathbf{X}))),
\mathbf{A}, \mathbf{U})`; a res+ layer outputs :math:`\mathbf{X} + f(\mathbf{X})`.

Paper: Li, Xiong, Thabet, Ghanem, "DeeperGCN: All You Need to Train Deeper GCNs", 2020.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.drop_edge import drop_edges
from revgnn.nn.dropout import act_dropout
from revgnn.nn.group_vjp import ExplicitBackward
from revgnn.nn.norm import activation, norm_layer
from revgnn.utils.autocast import call_conv
from revgnn.utils.checks import check_probability
from revgnn.utils.modules import reset_module

__all__ = ["PreActConv"]


class PreActConv(nn.Module):
    r"""Norm -> activation -> dropout -> conv, the residual function of a res+ block.

    Dropout is either ordinary (``dropout > 0``: a fresh mask per call, which reversible
    blocks replay exactly in their backward pass) or given explicitly as ``dropout_mask``,
    a pre-scaled mask shared by all layers (:class:`~revgnn.nn.SharedDropout`). When a mask is
    given, ``dropout`` is not applied as well.

    Args:
        conv (torch.nn.Module): The graph convolution, called as
            ``conv(x, edge_index, **kwargs)``.
        channels (int): Width of the input, for the normalisation layer.
        norm (str, optional): Normalisation (see :func:`~revgnn.nn.norm.norm_layer`: ``"batch"``,
            ``"layer"``, ...), or ``None``. (default: ``"batch"``)
        act (str, optional): Activation (``activation_resolver`` name) or ``None``.
            (default: ``"relu"``)
        dropout (float, optional): Ordinary dropout probability. (default: ``0.0``)
        edge_dropout (float, optional): Probability of dropping each edge in a training
            call (DropEdge, :func:`~revgnn.nn.drop_edge.drop_edges`). (default: ``0.0``)
        branch_scale (float, optional): A fixed factor :math:`c` on the conv's output. A stack
            of :math:`L` residual blocks with :math:`c = T / L` takes :math:`L` steps of size
            :math:`T / L` (an ODE discretisation): the total update, and the number of
            propagations' worth of smoothing, stays that of :math:`T` unit blocks whatever the
            depth. ``None``: 1. (default: ``None``)
        branch_gate (float, optional): A learnable scalar :math:`g` on the conv's output,
            starting at this value: ``0.0`` makes a residual block around this function the
            identity at initialisation (ReZero, Bachlechner et al., 2020), ``1.0`` lets it
            learn its step size. ``None``: no gate. (default: ``None``)

    Shapes:
        - **input:** node features :math:`(N, F)`, edge indices :math:`(2, E)`, an optional
          dropout mask :math:`(N, F)`, an optional initial embedding :math:`(N, F)` (passed to
          the conv as ``x0``, for initial-residual convs such as GCNII); keyword arguments go to
          ``conv``.
        - **output:** whatever ``conv`` returns, :math:`(N, F')`.
    """

    def __init__(
        self,
        conv: nn.Module,
        channels: int,
        norm: str | nn.Module | None = "batch",
        act: str | nn.Module | None = "relu",
        dropout: float = 0.0,
        edge_dropout: float = 0.0,
        branch_scale: float | None = None,
        branch_gate: float | None = None,
    ) -> None:
        super().__init__()
        check_probability("dropout", dropout)
        check_probability("edge_dropout", edge_dropout)
        self.channels = channels
        self.norm = norm_layer(norm, channels)
        self.act = activation(act)
        self.dropout = dropout
        self.edge_dropout = edge_dropout
        self.conv = conv
        self.branch_scale = branch_scale
        self.branch_gate = branch_gate
        gate = torch.tensor(float(branch_gate)) if branch_gate is not None else None
        self.gate = nn.Parameter(gate) if gate is not None else None

    def reset_parameters(self) -> None:
        if self.norm is not None:
            reset_module(self.norm)
        reset_module(self.conv)
        if self.gate is not None:
            with torch.no_grad():
                self.gate.fill_(self.branch_gate)

    def forward(
        self,
        x: Tensor,
        edge_index: Any,
        dropout_mask: Tensor | None = None,
        initial: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        if self.norm is not None:
            x = self.norm(x)
        x = self._act_dropout(x, dropout_mask)
        edge_index, kwargs = drop_edges(edge_index, kwargs, self.edge_dropout, self.training)
        if initial is not None:
            kwargs["x0"] = initial
        out = call_conv(self.conv, x, edge_index, **kwargs)
        if self.branch_scale is not None:
            out = out * self.branch_scale
        return out if self.gate is None else out * self.gate.to(out.dtype)

    def _act_dropout(self, x: Tensor, dropout_mask: Tensor | None) -> Tensor:
        # One definition for forward() and explicit_vjp(): a rebuild is exact only if both
        # draw and apply the same dropout.
        if dropout_mask is None:
            return act_dropout(x, self.act, self.dropout, self.training)
        if self.act is not None:
            x = self.act(x)
        return x * dropout_mask if self.training else x

    def explicit_vjp(
        self,
        x: Tensor,
        edge_index: Any,
        dropout_mask: Tensor | None = None,
        initial: Tensor | None = None,
        **kwargs: Any,
    ) -> tuple[Tensor, ExplicitBackward] | None:
        """:meth:`forward` without autograd (the same bits, the same dropout draws) and a
        function from the output's gradient to the gradients of ``x``, of the trainable
        parameters (``parameters()``'s order) and of ``(dropout_mask, initial)``; ``None``
        where this block has no explicit backward pass (then autograd serves it).

        Reversible stacks rebuild each block in their backward pass. Through autograd that
        means recording the block's graph (six nodes) and running it: on Cora at 64 blocks
        (one thread, alternating processes) the stack's backward pass took 204-216 ms of a
        313-326 ms training step, and 157-168 ms of 267-281 ms with this pass. It covers
        ReLU -> dropout -> a conv with its own ``explicit_forward`` / ``explicit_backward``
        (:class:`~revgnn.nn.conv.pyg_convs.GCNIIConv`) -> branch scale, with ordinary or shared
        dropout and no norm, gate or edge dropout, outside autocast.
        """
        conv = self.conv
        if (
            kwargs
            or self.norm is not None
            or type(self.act) is not nn.ReLU
            or (dropout_mask is not None and dropout_mask.requires_grad)
            or (self.edge_dropout > 0.0 and self.training)
            or self.gate is not None
            or not hasattr(conv, "explicit_supported")
            or torch.is_autocast_enabled(x.device.type)
            or not conv.explicit_supported(x, edge_index, initial)
        ):
            return None
        mask = dropout_mask if self.training else None
        with torch.no_grad():
            a = self._act_dropout(x, dropout_mask)
            out, saved = conv.explicit_forward(a, edge_index, initial)
            z = out if self.branch_scale is None else out * self.branch_scale
        want_initial = initial is not None and initial.requires_grad
        keep = 1.0
        if dropout_mask is None and self.training and self.dropout > 0.0:
            keep = 1.0 / (1.0 - self.dropout)
        trainable = [p.requires_grad for p in self.parameters()]

        def backward(grad: Tensor) -> tuple[Tensor, list[Any], list[Any]]:
            # The operations autograd runs for forward(), in reverse: the conv with the branch
            # scale, the dropout's scale (or the shared mask), then ReLU's backward on the
            # dropped output: zero wherever it is zero, as relu_dropout's own backward.
            scale = 1.0 if self.branch_scale is None else self.branch_scale
            g_a, g_params, g_initial = conv.explicit_backward(
                saved, grad, edge_index, want_initial, scale
            )
            if mask is not None:
                g_a = g_a * mask
            elif keep != 1.0:
                g_a = g_a * keep
            g_x = torch.ops.aten.threshold_backward(g_a, a, 0.0)
            params = [g for g, t in zip(g_params, trainable) if t]
            return g_x, params, [None, g_initial]

        return z, backward

    def __repr__(self) -> str:
        norm = type(self.norm).__name__ if self.norm is not None else None
        edge = f", edge_dropout={self.edge_dropout}" if self.edge_dropout else ""
        scale = f", branch_scale={self.branch_scale:g}" if self.branch_scale is not None else ""
        scale += f", branch_gate={self.branch_gate:g}" if self.gate is not None else ""
        return (
            f"{self.__class__.__name__}({self.conv}, channels={self.channels}, norm={norm}, "
            f"act={self.act}, dropout={self.dropout}{edge}{scale})"
        )
