r"""The prediction heads of DeepGCNs (Li, Müller, Thabet, Ghanem, ICCV 2019; TPAMI 2021).

Each takes the fused block outputs :math:`\mathbf{F}` (the concatenation of the backbone's
block outputs, :math:`F` channels) and returns logits:

* :class:`SegmentationHead` (S3DIS): fusion :math:`F \to 1024`, global max over the points,
  repeated and concatenated with :math:`\mathbf{F}`, then :math:`512 \to 256 \to`
  dropout :math:`\to` classes per point;
* :class:`PartSegmentationHead` (PartNet): fusion :math:`F \to 1024` (LeakyReLU, no bias),
  [global max, global mean] repeated and concatenated with the fusion (3072), then
  :math:`512 \to 256` (dropout after each) :math:`\to` parts per point;
* :class:`ClassificationHead` (ModelNet40): fusion :math:`F \to 1024`, [global max, global
  mean] (2048), then :math:`512 \to 256` (dropout after each) :math:`\to` classes per cloud;
* :class:`NodeHead` (PPI): fusion :math:`F \to 1024` (no normalisation), its maximum over
  channels (one value per node) concatenated with :math:`\mathbf{F}`, then :math:`512 \to 256
  \to` labels per node, dropout after the first two.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.nn.dropout import Dropout
from revgnn.nn.point_mlp import PointMLP
from revgnn.utils.checks import check_probability

__all__ = [
    "HEADS",
    "ClassificationHead",
    "NodeHead",
    "PartSegmentationHead",
    "SegmentationHead",
]


def _check_points(feats: Tensor) -> None:
    if feats.dim() != 3:
        raise ValueError(
            f"the head expects fused features [batch, points, channels], got {list(feats.shape)}"
        )


def _global(x: Tensor, mean: bool) -> Tensor:
    pooled = x.amax(dim=1, keepdim=True)
    return torch.cat([pooled, x.mean(dim=1, keepdim=True)], dim=-1) if mean else pooled


class _Head(nn.Module):
    def __init__(self, fusion_dims: int, num_classes: int, dropout: float) -> None:
        super().__init__()
        if fusion_dims < 1 or num_classes < 1:
            raise ValueError(
                f"fusion_dims={fusion_dims} and num_classes={num_classes} must be >= 1"
            )
        check_probability("dropout", dropout)
        self.fusion_dims, self.num_classes, self.dropout = fusion_dims, num_classes, dropout

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, PointMLP):
                m.reset_parameters()
        self.out.reset_parameters()

    def extra_repr(self) -> str:
        return f"fusion_dims={self.fusion_dims}, num_classes={self.num_classes}"


class SegmentationHead(_Head):
    """Semantic segmentation (see the module docstring).

    Args:
        fusion_dims (int): :math:`F`.
        num_classes (int): Classes per point.
        emb_dims (int): Width of the fusion. (default: ``1024``)
        act, norm, bias: Of every layer but the last. (default: ``"relu"``, ``"batch"``, ``True``)
        dropout (float): Dropout before the last layer. (default: ``0.3``)

    Shapes:
        :math:`(B, N, F)` → :math:`(B, N, \\text{classes})`.
    """

    def __init__(
        self,
        fusion_dims: int,
        num_classes: int,
        emb_dims: int = 1024,
        act: str | None = "relu",
        norm: str | None = "batch",
        bias: bool = True,
        dropout: float = 0.3,
    ) -> None:
        super().__init__(fusion_dims, num_classes, dropout)
        self.fusion = PointMLP([fusion_dims, emb_dims], act, norm, bias)
        self.mlp = PointMLP([fusion_dims + emb_dims, 512, 256], act, norm, bias)
        self.drop = Dropout(dropout)
        self.out = nn.Linear(256, num_classes, bias=bias)

    def forward(self, feats: Tensor) -> Tensor:
        _check_points(feats)
        pooled = _global(self.fusion(feats), mean=False).expand(-1, feats.size(1), -1)
        return self.out(self.drop(self.mlp(torch.cat([pooled, feats], dim=-1))))


class PartSegmentationHead(_Head):
    """Part segmentation (see the module docstring).

    Args:
        fusion_dims (int): :math:`F`.
        num_classes (int): Parts per point.
        emb_dims (int): Width of the fusion. (default: ``1024``)
        norm (str, optional): Normalisation. (default: ``"batch"``)
        dropout (float): Dropout after the 512 and 256 layers. (default: ``0.5``)

    Shapes:
        :math:`(B, N, F)` → :math:`(B, N, \\text{classes})`.
    """

    def __init__(
        self,
        fusion_dims: int,
        num_classes: int,
        emb_dims: int = 1024,
        norm: str | None = "batch",
        dropout: float = 0.5,
    ) -> None:
        super().__init__(fusion_dims, num_classes, dropout)
        self.fusion = PointMLP([fusion_dims, emb_dims], "leakyrelu", norm, bias=False)
        self.mlp = PointMLP([3 * emb_dims, 512, 256], "leakyrelu", norm, dropout=dropout)
        self.out = nn.Linear(256, num_classes)

    def forward(self, feats: Tensor) -> Tensor:
        _check_points(feats)
        fusion = self.fusion(feats)
        pooled = _global(fusion, mean=True).expand(-1, feats.size(1), -1)
        return self.out(self.mlp(torch.cat([pooled, fusion], dim=-1)))


class ClassificationHead(_Head):
    """Point-cloud classification (see the module docstring).

    Args:
        fusion_dims (int): :math:`F`.
        num_classes (int): Classes.
        emb_dims (int): Width of the fusion. (default: ``1024``)
        norm (str, optional): Normalisation. (default: ``"batch"``)
        dropout (float): Dropout after the 512 and 256 layers. (default: ``0.5``)

    Shapes:
        :math:`(B, N, F)` → :math:`(B, \\text{classes})`.
    """

    def __init__(
        self,
        fusion_dims: int,
        num_classes: int,
        emb_dims: int = 1024,
        norm: str | None = "batch",
        dropout: float = 0.5,
    ) -> None:
        super().__init__(fusion_dims, num_classes, dropout)
        self.fusion = PointMLP([fusion_dims, emb_dims], "leakyrelu", norm, bias=False)
        self.mlp = PointMLP([2 * emb_dims, 512, 256], "leakyrelu", norm, dropout=dropout)
        self.out = nn.Linear(256, num_classes)

    def forward(self, feats: Tensor) -> Tensor:
        _check_points(feats)
        return self.out(self.mlp(_global(self.fusion(feats), mean=True).squeeze(1)))


class NodeHead(_Head):
    """Node-level multi-label prediction on graphs (PPI; see the module docstring).

    Args:
        fusion_dims (int): :math:`F`.
        num_classes (int): Labels per node.
        emb_dims (int): Width of the fusion. (default: ``1024``)
        act, norm, bias: Of every layer but the last (the fusion has no normalisation).
            (default: ``"relu"``, ``"batch"``, ``True``)
        dropout (float): Dropout after the 512 and 256 layers. (default: ``0.2``)

    Shapes:
        :math:`(n, F)` → :math:`(n, \\text{classes})`.
    """

    def __init__(
        self,
        fusion_dims: int,
        num_classes: int,
        emb_dims: int = 1024,
        act: str | None = "relu",
        norm: str | None = "batch",
        bias: bool = True,
        dropout: float = 0.2,
    ) -> None:
        super().__init__(fusion_dims, num_classes, dropout)
        self.fusion = PointMLP([fusion_dims, emb_dims], act, None, bias)
        self.mlp = nn.Sequential(
            PointMLP([1 + fusion_dims, 512], act, norm, bias),
            Dropout(dropout),
            PointMLP([512, 256], act, norm, bias),
            Dropout(dropout),
        )
        self.out = nn.Linear(256, num_classes, bias=bias)

    def forward(self, feats: Tensor) -> Tensor:
        if feats.dim() != 2:
            raise ValueError(
                f"NodeHead expects node features [nodes, channels], got {list(feats.shape)}"
            )
        fusion = self.fusion(feats).amax(dim=-1, keepdim=True)
        return self.out(self.mlp(torch.cat([feats, fusion], dim=-1)))


#: Head by task name.
HEADS = {
    "segmentation": SegmentationHead,
    "part": PartSegmentationHead,
    "classification": ClassificationHead,
    "node": NodeHead,
}
