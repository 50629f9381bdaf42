r"""A graph-free baseline: PointNet without its transform nets (Qi, Su, Mo, Guibas, CVPR 2017).

Every point is embedded on its own by a shared MLP; the cloud is summarised by a global max
pool. No point ever sees another, so what a DeepGCN gains over it is what its graphs give.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.nn.dropout import Dropout
from revgnn.nn.point_mlp import PointMLP
from revgnn.utils.checks import check_probability

__all__ = ["PointNet"]


class PointNet(nn.Module):
    r"""Vanilla PointNet: a per-point MLP :math:`C_{in} \to 64 \to 64 \to 64 \to 128 \to
    \text{emb}`, a global max pool, and

    * ``task="classification"``: :math:`\text{emb} \to 512 \to 256 \to` classes (dropout
      before the last layer);
    * ``task="segmentation"``: each point's 64-wide feature concatenated with the global one,
      then :math:`512 \to 256 \to 128 \to` classes per point.

    Args:
        in_channels (int): Input channels (xyz first).
        out_channels (int): Classes.
        task (str): ``"classification"`` or ``"segmentation"``. (default:
            ``"classification"``)
        emb_dims (int): Width of the global feature. (default: ``1024``)
        dropout (float): Dropout of the classifier. (default: ``0.5``)

    Shapes:
        :math:`(B, N, C_{in})` → :math:`(B, \text{classes})` or :math:`(B, N,
        \text{classes})`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        task: str = "classification",
        emb_dims: int = 1024,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if task not in ("classification", "segmentation"):
            raise ValueError(f"task={task!r} must be 'classification' or 'segmentation'")
        check_probability("dropout", dropout)
        self.task, self.in_channels, self.out_channels = task, in_channels, out_channels
        self.local = PointMLP([in_channels, 64, 64])
        self.glob = PointMLP([64, 64, 128, emb_dims])
        if task == "classification":
            self.mlp = PointMLP([emb_dims, 512, 256])
        else:
            self.mlp = PointMLP([64 + emb_dims, 512, 256, 128])
        self.drop = Dropout(dropout)
        self.out = nn.Linear(self.mlp.channels[-1], out_channels)

    def reset_parameters(self) -> None:
        for m in (self.local, self.glob, self.mlp, self.out):
            m.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.size(-1) != self.in_channels:
            raise ValueError(
                f"x must be clouds [batch, num_points, {self.in_channels}], got {list(x.shape)}"
            )
        local = self.local(x)
        pooled = self.glob(local).amax(dim=1)
        if self.task == "classification":
            return self.out(self.drop(self.mlp(pooled)))
        pooled = pooled.unsqueeze(1).expand(-1, x.size(1), -1)
        return self.out(self.drop(self.mlp(torch.cat([local, pooled], dim=-1))))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"task={self.task!r})"
        )
