"""Scoring a trained model: the evaluation path every caller shares."""

from __future__ import annotations

import torch
from torch import nn

from revgnn.datasets.node_dataset import NodeDataset
from revgnn.training.node_task import NodeTask
from revgnn.training.task import Task

__all__ = ["evaluate"]


def evaluate(
    model: nn.Module,
    task: Task | NodeDataset,
    *,
    device: str | torch.device = "cpu",
    amp: str | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Scores of ``model`` on the ``train``, ``valid`` and ``test`` splits of ``task`` (model
    left in eval mode), exactly as :func:`~revgnn.train` computes them.

    A dataset is scored full-graph; a :class:`~revgnn.training.NodeTask` with ``eval_parts``
    and ``eval_views`` averages the logits over fixed random partitions (``seed`` picks them,
    as the run's seed does in training).
    """
    device = torch.device(device)
    task = NodeTask.of(task)
    model.to(device)
    task.setup(device, seed)
    return task.evaluate(model, device, amp).scores
