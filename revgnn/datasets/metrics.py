"""Scoring predictions: OGB's own ``Evaluator`` for OGB datasets, an exact count or sklearn's
ROC-AUC otherwise."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["Scorer"]


class Scorer:
    """Scores model outputs of a :class:`NodeDataset` with its metric.

    ``"acc"`` is the fraction of nodes whose arg-max class equals the label; ``"rocauc"`` is
    the ROC-AUC averaged over the tasks that have both a positive and a negative label
    among the scored nodes (OGB's definition). OGB datasets go through
    ``ogb.nodeproppred.Evaluator``; the others count matches (the value of sklearn's
    ``accuracy_score``, without its 0.4 ms of input checks a call and 1 s import) or call
    sklearn's ``roc_auc_score``.

    Args:
        dataset (NodeDataset): The dataset whose task and metric apply.
    """

    def __init__(self, dataset: NodeDataset) -> None:
        self.name = dataset.name
        self.task = dataset.task
        self.metric = dataset.metric
        self._ogb = None
        if dataset.ogb_name is not None:
            from ogb.nodeproppred import Evaluator

            self._ogb = Evaluator(dataset.ogb_name)
            if self._ogb.eval_metric != self.metric:
                raise ValueError(
                    f"{self.name}: metric={self.metric!r} differs from OGB's "
                    f"{self._ogb.eval_metric!r} for {dataset.ogb_name}"
                )

    def __call__(self, y_true: Tensor, out: Tensor) -> float:
        """Score ``out`` (logits :math:`(n, C)` or :math:`(n, T)`) against ``y_true``."""
        out = out.detach().float().cpu()
        y_true = y_true.detach().cpu()
        if self.metric == "acc":
            pred = out.argmax(dim=-1, keepdim=True)
            y = y_true.view(-1, 1)
            if self._ogb is not None:
                return float(self._ogb.eval({"y_true": y, "y_pred": pred})["acc"])
            if y.numel() == 0:
                raise ValueError(f"{self.name}: no nodes to score (an empty split)")
            # A whole count over a whole count: one rounding, as sklearn's mean of 0/1s.
            return int((pred == y).sum()) / y.numel()
        if self._ogb is not None:
            return float(self._ogb.eval({"y_true": y_true, "y_pred": out})["rocauc"])
        return _mean_rocauc(self.name, y_true.numpy(), torch.sigmoid(out).numpy())

    def __repr__(self) -> str:
        if self._ogb is not None:
            via = "ogb.Evaluator"
        else:
            via = "count" if self.metric == "acc" else "sklearn"
        return f"{self.__class__.__name__}({self.name!r}, metric={self.metric!r}, via={via})"


def _mean_rocauc(name: str, y_true: np.ndarray, y_score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    y_true = y_true.reshape(len(y_true), -1)
    y_score = y_score.reshape(len(y_score), -1)
    scores = [
        roc_auc_score(y_true[:, t], y_score[:, t])
        for t in range(y_true.shape[1])
        if 0 < y_true[:, t].sum() < len(y_true)
    ]
    if not scores:
        raise ValueError(
            f"{name}: no task has both positive and negative labels among the "
            f"{len(y_true)} scored nodes, so ROC-AUC is undefined"
        )
    return float(np.mean(scores))
