"""The cell of DEQ-GNN: a block with input injection and a per-node LayerNorm."""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from revgnn.utils.modules import reset_module

__all__ = ["EquilibriumCell"]


class EquilibriumCell(nn.Module):
    r"""The function :math:`f_\theta` of DEQ-GNN,

    .. math::

        f_\theta(\mathbf{Z}, \mathbf{X}) = \mathrm{LayerNorm}\big(
        \mathrm{Block}(\mathbf{Z} + \mathbf{X}, \mathbf{A}, \mathbf{U})\big),

    input injection by addition and a per-node LayerNorm after the block, as in the
    multiscale DEQ's residual cells (Bai, Koltun, Kolter, NeurIPS 2020). The block is
    residual (:math:`\mathbf{Z} \mapsto \mathbf{Z} + \dots`), so without the normalisation
    :math:`f_\theta` has Jacobian :math:`\mathbf{I} + \dots` and no attracting fixed point; the
    LayerNorm bounds every node's state (an equilibrium exists by Brouwer's theorem) and
    divides the identity path by the node's standard deviation.

    Args:
        block (torch.nn.Module): Called as ``block(h, edge_index, dropout_mask, **kwargs)``
            (``kwargs``: edge features and other per-layer arguments):
            a one-layer weight-tied :class:`~revgnn.ReversibleSequential` or a
            :class:`~revgnn.nn.ResPlus`.
        channels (int): The state width :math:`D`.
    """

    def __init__(self, block: nn.Module, channels: int) -> None:
        super().__init__()
        self.block = block
        self.norm = nn.LayerNorm(channels)

    def reset_parameters(self) -> None:
        reset_module(self.block)
        self.norm.reset_parameters()

    def forward(
        self,
        z: Tensor,
        x: Tensor,
        edge_index: Any,
        dropout_mask: Tensor | None = None,
        **kwargs: Any,
    ) -> Tensor:
        return self.norm(self.block(z + x, edge_index, dropout_mask, **kwargs))
