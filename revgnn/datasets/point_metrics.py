r"""Scores of point-cloud and multi-label node predictions: overall accuracy, mean class
accuracy, per-class and mean IoU (from one confusion matrix over a whole split), the
per-shape part IoU of part segmentation (ShapeNet), and micro-averaged F1 (PPI)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["ConfusionMatrix", "ShapeIoU", "micro_f1"]


class ConfusionMatrix:
    r"""A confusion matrix accumulated over batches, and the scores read from it.

    With :math:`M_{ab}` the number of points of class :math:`a` predicted as :math:`b`:
    overall accuracy :math:`\sum_a M_{aa} / \sum M`; class accuracy :math:`M_{aa} / \sum_b
    M_{ab}`; IoU :math:`M_{aa} / (\sum_b M_{ab} + \sum_b M_{ba} - M_{aa})`. Means are taken
    over the classes that occur (in the labels or the predictions), leaving out
    ``ignore`` (e.g. PartNet's "undefined" part 0).

    Args:
        num_classes (int): Classes.
        ignore (sequence of int): Classes left out of the means.
    """

    def __init__(self, num_classes: int, ignore: Sequence[int] = ()) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes={num_classes} must be at least 1")
        self.num_classes = num_classes
        self.ignore = tuple(ignore)
        self.matrix = torch.zeros(num_classes, num_classes, dtype=torch.long)

    def update(self, pred: Tensor, target: Tensor) -> None:
        """Add predicted classes ``pred`` against labels ``target`` (same shape)."""
        if pred.shape != target.shape:
            raise ValueError(f"pred {list(pred.shape)} and target {list(target.shape)} differ")
        c = self.num_classes
        flat = target.reshape(-1).long().cpu() * c + pred.reshape(-1).long().cpu()
        self.matrix += torch.bincount(flat, minlength=c * c).view(c, c)

    def _kept(self, present: Tensor) -> Tensor:
        keep = present.clone()
        for i in self.ignore:
            keep[i] = False
        return keep

    def overall_accuracy(self) -> float:
        total = int(self.matrix.sum())
        return float(self.matrix.diag().sum()) / total if total else float("nan")

    def class_accuracy(self) -> Tensor:
        """Per class, NaN for classes without labelled points."""
        support = self.matrix.sum(1).double()
        return torch.where(support > 0, self.matrix.diag() / support, float("nan"))

    def mean_class_accuracy(self) -> float:
        acc = self.class_accuracy()
        keep = self._kept(~torch.isnan(acc))
        return float(acc[keep].mean()) if bool(keep.any()) else float("nan")

    def iou(self) -> Tensor:
        """Per class, NaN for classes neither labelled nor predicted."""
        m = self.matrix.double()
        union = m.sum(0) + m.sum(1) - m.diag()
        return torch.where(union > 0, m.diag() / union, float("nan"))

    def mean_iou(self) -> float:
        iou = self.iou()
        keep = self._kept(~torch.isnan(iou))
        return float(iou[keep].mean()) if bool(keep.any()) else float("nan")

    def scores(self) -> dict[str, float]:
        """``acc`` (overall), ``macc`` (mean class accuracy) and ``miou``."""
        return {
            "acc": self.overall_accuracy(),
            "macc": self.mean_class_accuracy(),
            "miou": self.mean_iou(),
        }


class ShapeIoU:
    r"""Part-segmentation IoU per shape, as ShapeNet results are reported (PointNet, DGCNN,
    PyG's examples): a shape of category :math:`c` is predicted among :math:`c`'s parts only
    (the argmax of their logits), each of those parts scores :math:`|P \cap G| / |P \cup G|`
    (1 when it is neither labelled nor predicted), and the shape scores their mean.
    ``instance_miou`` is the mean over shapes, ``class_miou`` the mean over categories of
    their shapes' mean.

    Args:
        category_parts (sequence of sequence of int): The part labels of each category.
    """

    def __init__(self, category_parts: Sequence[Sequence[int]]) -> None:
        if not category_parts or any(len(p) == 0 for p in category_parts):
            raise ValueError("category_parts must list at least one part for every category")
        self.parts = [torch.tensor(list(p)) for p in category_parts]
        self.shape_ious: list[list[float]] = [[] for _ in category_parts]

    def update(self, logits: Tensor, target: Tensor, category: Tensor) -> None:
        """Score shapes: ``logits`` :math:`(B, N, K)`, ``target`` :math:`(B, N)`, ``category``
        :math:`(B,)`."""
        if logits.shape[:2] != target.shape or category.shape != target.shape[:1]:
            raise ValueError(
                f"logits {list(logits.shape)}, target {list(target.shape)} and category "
                f"{list(category.shape)} must be [B, N, K], [B, N] and [B]"
            )
        logits, target = logits.detach().float().cpu(), target.cpu()
        for out, y, c in zip(logits, target, category.tolist()):
            parts = self.parts[c]
            pred = parts[out[:, parts].argmax(-1)]
            hit_pred = pred.unsqueeze(-1) == parts  # [N, parts]
            hit_true = y.unsqueeze(-1) == parts
            inter = (hit_pred & hit_true).sum(0).double()
            union = (hit_pred | hit_true).sum(0).double()
            iou = torch.where(union > 0, inter / union.clamp_min(1), 1.0)
            self.shape_ious[c].append(float(iou.mean()))

    def scores(self) -> dict[str, float]:
        """``instance_miou`` and ``class_miou`` (NaN before any shape)."""
        every = [v for ious in self.shape_ious for v in ious]
        per_class = [sum(v) / len(v) for v in self.shape_ious if v]
        nan = float("nan")
        return {
            "instance_miou": sum(every) / len(every) if every else nan,
            "class_miou": sum(per_class) / len(per_class) if per_class else nan,
        }


def micro_f1(logits: Tensor, target: Tensor) -> float:
    r"""Micro-averaged F1 of multi-label predictions (logit :math:`> 0`) against 0/1 targets:
    :math:`2\,TP / (2\,TP + FP + FN)` over every (node, label) pair."""
    if logits.shape != target.shape:
        raise ValueError(f"logits {list(logits.shape)} and target {list(target.shape)} differ")
    pred, y = logits > 0, target > 0.5
    tp = int((pred & y).sum())
    wrong = int((pred ^ y).sum())
    return 2 * tp / (2 * tp + wrong) if (tp or wrong) else float("nan")
