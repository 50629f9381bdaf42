"""The training losses of node, graph and point tasks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["prediction_loss"]


def prediction_loss(out: Tensor, y: Tensor, task: str, label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy for ``task="multiclass"`` (``y`` class indices), binary cross-entropy on
    the labelled entries for ``"multilabel"`` (``y`` 0/1 with NaN for missing labels, as OGB's
    molecule sets), the mean squared error on the labelled entries for ``"regression"`` (OGB's
    ``ogbg-molesol``, ``-molfreesolv``, ``-mollipo``). Label smoothing :math:`s` is the
    cross-entropy's own for classes; binary targets become :math:`y (1 - s) + s / 2`; a
    regression takes none. Computed in fp32 whatever the outputs' dtype.

    Returns the mean loss; ``0`` (with a graph) when no entry is labelled.
    """
    out = out.float()
    if task == "multiclass":
        return F.cross_entropy(out, y.view(-1).long(), label_smoothing=label_smoothing)
    if task not in ("multilabel", "regression"):
        raise ValueError(f"task={task!r} must be 'multiclass', 'multilabel' or 'regression'")
    if task == "regression" and label_smoothing > 0.0:
        raise ValueError(
            f"label_smoothing={label_smoothing} smooths class labels; a regression task takes "
            "none (--label-smoothing 0)"
        )
    y = y.float().view(out.shape)
    labelled = ~torch.isnan(y)
    if not bool(labelled.any()):
        return out.sum() * 0.0
    target = y[labelled]
    if task == "regression":
        return F.mse_loss(out[labelled], target)
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return F.binary_cross_entropy_with_logits(out[labelled], target)
