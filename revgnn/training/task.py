"""What the one training loop is parameterised by: how batches are drawn, the step, the
loss, the scorer; and the registry of tasks by the kind of dataset they train on.

A task is one file of :mod:`revgnn.training` (:class:`~revgnn.training.NodeTask`,
:class:`~revgnn.training.GraphTask`, ...) registered with :func:`register_task` for a dataset
kind (:data:`revgnn.datasets.KINDS`); :func:`revgnn.train` gives every task AMP, checkpoints
and resume, the JSONL log, the progress bar, DDP and ``--runs`` summaries. A task that
optimises more than the model's weights (an architecture search) overrides
:meth:`Task.optimizers` and :meth:`Task.step`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from revgnn.utils.registry import Registry

if TYPE_CHECKING:
    from revgnn.config.data import DataConfig
    from revgnn.config.optim import OptimConfig
    from revgnn.training.loop import Loop
    from revgnn.training.optimizers import Optimizers

__all__ = [
    "TASKS",
    "Evaluation",
    "Task",
    "build_task",
    "class_prior_loss",
    "label_prior_logits",
    "register_task",
]


@dataclass
class Evaluation:
    """Scores of one evaluation (``train`` / ``valid`` / ``test``; higher is better unless
    the task's :attr:`~Task.maximize` says otherwise); for class predictions, how many
    distinct classes the model predicted on the valid split; and ``extra`` figures for the
    epoch's log line (e.g. ``test_macc``)."""

    scores: dict[str, float]
    valid_classes: int | None = None
    extra: dict[str, float] = field(default_factory=dict)


def class_prior_loss(y: Tensor, num_classes: int, label_smoothing: float = 0.0) -> float:
    r"""The least cross-entropy of a prediction shared by every example of labels ``y``: the
    entropy :math:`H(\bar{p})` of their class frequencies, smoothed as the loss smooths them
    (:math:`\bar{p} = (1 - \varepsilon) p + \varepsilon / C`), since
    :math:`-\sum_c \bar{p}_c \log q_c \ge H(\bar{p})` for every prediction :math:`q`.

    Args:
        y (Tensor): Class labels, any shape.
        num_classes (int): :math:`C`.
        label_smoothing (float): :math:`\varepsilon`, the loss's.
    """
    counts = torch.bincount(y.reshape(-1).long(), minlength=num_classes).double()
    p = counts / counts.sum()
    p = (1.0 - label_smoothing) * p + label_smoothing / p.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def label_prior_logits(y: Tensor, num_classes: int, multilabel: bool) -> Tensor:
    r"""The logits of the best prediction that ignores the input: an output layer's bias that
    starts the model at the training labels' prior instead of at :math:`p = 0.5` per task.

    * ``multilabel``: ``y`` is :math:`(n, T)` 0/1 targets; the log-odds
      :math:`\log(p_t / (1 - p_t))` of each task's positive rate, clamped to
      :math:`[\frac{1}{2n}, 1 - \frac{1}{2n}]` so that a task without positives (or
      negatives) stays finite;
    * otherwise ``y`` holds class indices; the log class frequencies, each count plus one
      (a class absent from ``y`` stays finite).

    Args:
        y (Tensor): The training labels.
        num_classes (int): Classes (multi-class) or tasks (multi-label).
        multilabel (bool): Which of the two ``y`` is.

    Shapes:
        - **output:** :math:`(C,)` or :math:`(T,)`.
    """
    if multilabel:
        y = y.reshape(len(y), -1).double()
        if y.size(1) != num_classes:
            raise ValueError(f"y has {y.size(1)} tasks, but num_classes={num_classes}")
        half = 0.5 / max(len(y), 1)
        p = y.mean(dim=0).clamp(half, 1.0 - half)
        return (p / (1.0 - p)).log().float()
    counts = torch.bincount(y.reshape(-1).long(), minlength=num_classes).double() + 1.0
    if counts.numel() != num_classes:
        raise ValueError(f"y has class {counts.numel() - 1}, but num_classes={num_classes}")
    return (counts / counts.sum()).log().float()


class Task(ABC):
    """A learning problem the loop can train on.

    Subclasses set :attr:`name` (for reports), :attr:`metric` (the score's name) and
    :attr:`split_info`, and implement the abstract methods. Batches must depend only on
    ``(seed, epoch)`` so that a resumed run and every DDP rank see the same ones.
    """

    name: str = "task"
    metric: str = "score"
    split_info: str = ""
    #: Whether a run ends with the weights of its best validation score (an architecture
    #: search ends with its decisions instead).
    select_best: bool = True
    #: Whether :meth:`evaluate` reports the validation loss (``extra["valid_loss"]``), which
    #: selection on the loss needs.
    reports_valid_loss: bool = False
    #: Whether a higher :attr:`metric` is better (an error such as RMSE: lower).
    maximize: bool = True
    #: Whether the loss has classes to smooth (a regression has none).
    smooths_labels: bool = True

    def setup(self, device: torch.device, seed: int) -> None:  # noqa: B027 (optional hook)
        """Called once per run before training (move static data, build partitions)."""

    @abstractmethod
    def train_batches(self, epoch: int) -> Sequence[Any]:
        """The training batches of ``epoch`` (1-based), on the CPU or the device: a list, or
        a sequence that builds each batch when it is read."""

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

    def optimizers(self, model: nn.Module, cfg: OptimConfig) -> Optimizers:
        """The run's optimisers (default: one of ``cfg`` over every parameter)."""
        from revgnn.training.optimizers import Optimizers

        return Optimizers.default(model, cfg)

    def step(self, loop: Loop, batch: Any) -> tuple[Tensor | None, int]:
        """One optimisation step on ``batch`` (default: :func:`~revgnn.training.train_step`
        with the main optimiser); returns the detached loss and the example count."""
        return loop.train_step(batch, loop.optimizers.main)

    def epoch_end(self, loop: Loop, epoch: int) -> dict[str, Any]:
        """After an epoch's steps: figures for its log line (default: none)."""
        return {}

    def finished(self) -> bool:
        """Whether the task has nothing left to learn before the last epoch (a search whose
        edges are all decided)."""
        return False

    def prior_loss(self, label_smoothing: float = 0.0) -> float | None:
        """The training loss of the best prediction that ignores the input, when the task
        knows it (default: ``None``): a model whose loss is below it predicts from its inputs
        (see :class:`~revgnn.training.CollapseMonitor`)."""
        return None

    def prior_logits(self) -> Tensor | None:
        """The outputs of the best prediction that ignores the input
        (:func:`label_prior_logits`), when the task knows it (default: ``None``): the start of
        the model's output bias under ``head_bias="prior"``."""
        return None

    def state_dict(self) -> dict[str, Any] | None:
        """What a resumed run needs of the task itself (tensors and plain data)."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore :meth:`state_dict`'s result."""

    def describe(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


#: Every registered task, by the dataset kind it trains on.
TASKS: Registry[Callable[..., Task]] = Registry("task", arg="kind")


def register_task(kind: str) -> Callable[[Any], Any]:
    """Class decorator registering a task for datasets of ``kind``; the class provides
    ``from_config(dataset, cfg: DataConfig, **extra) -> Task``."""
    return TASKS.register(kind)


def build_task(dataset: Any, cfg: DataConfig, kind: str, **extra: Any) -> Task:
    """The task that trains on ``dataset`` (of kind ``kind``), drawn as ``cfg`` says."""
    return TASKS[kind].from_config(dataset, cfg, **extra)
