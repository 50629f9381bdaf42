r"""DeepGCNs' backbone blocks: plain, residual and dense (Li, Müller, Thabet, Ghanem, ICCV 2019).

With :math:`\mathcal{F}` a :class:`~revgnn.nn.DynamicConv` (or the same conv on a static
graph): PlainGCN :math:`\mathbf{x}' = \mathcal{F}(\mathbf{x})`, ResGCN
:math:`\mathbf{x}' = \mathcal{F}(\mathbf{x}) + \mathbf{x}` and DenseGCN
:math:`\mathbf{x}' = [\mathbf{x}, \mathcal{F}(\mathbf{x})]` (growing by ``growth`` channels).
The reversible form of the residual block is a :class:`~revgnn.GroupAddRev` of
:class:`~revgnn.nn.DynamicConv` groups (see :class:`~revgnn.models.DeepGCN`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.nn.dynamic_conv import DynamicConv
from revgnn.utils.registry import resolve_name

__all__ = ["DYNAMIC_BLOCKS", "DynamicBlock"]

#: Block kinds.
DYNAMIC_BLOCKS = ("plain", "res", "dense")


class DynamicBlock(nn.Module):
    r"""One DeepGCN block (see the module docstring).

    Args:
        channels (int): Input width :math:`C`.
        block (str): ``"plain"``, ``"res"`` or ``"dense"``. (default: ``"res"``)
        growth (int, optional): Channels a dense block adds (default: ``channels``).
        res_scale (float): Scale of the residual connection. (default: ``1.0``)
        **conv_kwargs: :class:`~revgnn.nn.DynamicConv`'s (``conv``, ``k``, ``dilation``,
            ``stochastic``, ``epsilon``, ``act``, ``norm``, ``bias``, ``chunk_size``).

    Shapes:
        :math:`(B, N, C)` (or nodes :math:`(n, C)` with an ``edge_index``) →
        :math:`(B, N, C)`, or :math:`(B, N, C + \text{growth})` for a dense block.
    """

    def __init__(
        self,
        channels: int,
        block: str = "res",
        growth: int | None = None,
        res_scale: float = 1.0,
        **conv_kwargs,
    ) -> None:
        super().__init__()
        block = resolve_name(block, DYNAMIC_BLOCKS, "block")
        self.block, self.res_scale = block, res_scale
        self.channels = channels
        out = (growth or channels) if block == "dense" else channels
        self.body = DynamicConv(channels, out, **conv_kwargs)

    @property
    def out_channels(self) -> int:
        out = self.body.conv.out_channels
        return self.channels + out if self.block == "dense" else out

    def reset_parameters(self) -> None:
        self.body.reset_parameters()

    def forward(self, x: Tensor, index: Tensor | None = None) -> Tensor:
        h = self.body(x, index)
        if self.block == "res":
            return h + self.res_scale * x
        if self.block == "dense":
            return torch.cat([x, h], dim=-1)
        return h

    def extra_repr(self) -> str:
        return f"block={self.block!r}"
