"""What the one training loop is parameterised by: how batches are drawn, the loss, the scorer.

A task is one file of :mod:`revgnn.training` (:class:`~revgnn.training.NodeTask`,
:class:`~revgnn.training.GraphTask`, ...); :func:`~revgnn.train` gives every task AMP,
checkpoints and resume, the JSONL log, the progress bar, DDP and ``--runs`` summaries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["Evaluation", "Task"]


@dataclass
class Evaluation:
    """Scores of one evaluation (``train`` / ``valid`` / ``test``, higher is better); for
    class predictions, how many distinct classes the model predicted on the valid split; and
    ``extra`` figures for the epoch's log line (e.g. ``test_macc``)."""

    scores: dict[str, float]
    valid_classes: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


class Task(ABC):
    """A learning problem the loop can train on.

    Subclasses set :attr:`name` (for reports), :attr:`metric` (the score's name) and
    :attr:`split_info`, and implement the methods below. Batches must depend only on
    ``(seed, epoch)`` so that a resumed run and every DDP rank see the same ones.
    """

    name: str = "task"
    metric: str = "score"
    split_info: str = ""

    def setup(self, device: torch.device, seed: int) -> None:  # noqa: B027 (optional hook)
        """Called once per run before training (move static data, build partitions)."""

    @abstractmethod
    def train_batches(self, epoch: int) -> list[Any]:
        """The training batches of ``epoch`` (1-based), on the CPU or the device."""

    @abstractmethod
    def forward(self, model: nn.Module, batch: Any) -> Tensor:
        """The model's output on ``batch`` (already on the device)."""

    @abstractmethod
    def loss(self, out: Tensor, batch: Any, label_smoothing: float) -> tuple[Tensor, int]:
        """``(mean loss, number of training examples in the batch)``; a batch without
        training examples gives a zero loss that still has a graph (DDP needs every rank to
        back-propagate)."""

    @abstractmethod
    def evaluate(self, model: nn.Module, device: torch.device, amp: str | None) -> Evaluation:
        """Score ``model`` (put in eval mode) on every split."""

    def describe(self) -> str:
        return self.name
