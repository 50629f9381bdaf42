"""The settings of one training run, validated when made."""

from __future__ import annotations

import math
from dataclasses import dataclass

from revgnn.training.amp import AMP_DTYPES

__all__ = ["OPTIMIZERS", "SCHEDULERS", "TrainConfig"]

OPTIMIZERS = ("adam", "sgd")
SCHEDULERS = ("cosine", "step")


@dataclass
class TrainConfig:
    """Settings of one training run, for every task (how batches are drawn is the task's).

    Args:
        epochs (int): Epochs to train. (default: ``200``)
        lr (float): Learning rate, > 0. (default: ``0.01``)
        weight_decay (float): L2 weight decay, >= 0. (default: ``0.0``)
        weight_decay_on (tuple of str): Names of the submodules whose parameters get the
            weight decay (e.g. ``("encoder.node",)``: the first layer only, as GCN does);
            empty: every parameter. (default: ``()``)
        grad_clip (float, optional): Max gradient norm, ``None`` for no clipping.
            (default: ``1.0``)
        optimizer (str): ``"adam"`` or ``"sgd"`` (with ``momentum``). (default: ``"adam"``)
        momentum (float): SGD's momentum. (default: ``0.9``)
        scheduler (str, optional): Learning-rate schedule, stepped after every epoch:
            ``"cosine"`` (from ``lr`` to ``lr_min`` over ``epochs``), ``"step"`` (times
            ``lr_gamma`` every ``lr_step`` epochs) or ``None`` (constant). (default: ``None``)
        lr_min (float): The cosine schedule's final rate. (default: ``0.0``)
        lr_step (int): The step schedule's period in epochs. (default: ``20``)
        lr_gamma (float): The step schedule's factor, in (0, 1]. (default: ``0.5``)
        amp (str, optional): ``"bf16"`` or ``"fp16"`` autocast, ``None`` for fp32.
        label_smoothing (float): Label smoothing in ``[0, 1)``: of the cross-entropy for
            classes; binary targets become ``y (1 - s) + s / 2``. (default: ``0.0``)
        eval_every (int): Evaluate every this many epochs (and after the last).
        seed (int): Seed of the run (batches, partitions; :func:`seed_everything` seeds the
            rest).
        device (str): ``"cpu"``, ``"cuda"``, ...
        checkpoint (str, optional): Checkpoint file, written atomically every
            ``checkpoint_every`` epochs and at the end.
        checkpoint_every (int): Epochs between checkpoints.
        resume (bool): Continue from ``checkpoint``; it must exist unless ``missing_ok``.
        missing_ok (bool): With ``resume``: start fresh when there is no checkpoint yet (a
            job that is relaunched until it finishes).
        overwrite (bool): Allow a run that does not resume to replace an existing
            ``checkpoint`` (otherwise that is an error: the file would be lost).
        log_path (str, optional): JSONL file, one line per epoch.
        progress (bool): Show the tqdm bar; without it one line per evaluation is printed.
        memory_every (int): On CPU, measure the peak of live tensor bytes (profiler, ~1.5x
            slower) on the last epoch and every this many epochs; ``0``: the last only. On
            CUDA the peak is read every epoch at no cost.
        collapse_patience (int): Warn when the predictions on the validation set have been a
            single class for this many evaluations running; ``0`` never warns.
    """

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 0.0
    weight_decay_on: tuple[str, ...] = ()
    grad_clip: float | None = 1.0
    optimizer: str = "adam"
    momentum: float = 0.9
    scheduler: str | None = None
    lr_min: float = 0.0
    lr_step: int = 20
    lr_gamma: float = 0.5
    amp: str | None = None
    label_smoothing: float = 0.0
    eval_every: int = 1
    seed: int = 0
    device: str = "cpu"
    checkpoint: str | None = None
    checkpoint_every: int = 10
    resume: bool = False
    missing_ok: bool = False
    overwrite: bool = False
    log_path: str | None = None
    progress: bool = True
    memory_every: int = 0
    collapse_patience: int = 10

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} must be at least 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr={self.lr} must be a positive learning rate (e.g. 0.01)")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay={self.weight_decay} must be >= 0")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip={self.grad_clip} must be > 0, or None for no clipping")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r} must be one of {', '.join(OPTIMIZERS)}")
        if self.scheduler not in (None, *SCHEDULERS):
            raise ValueError(
                f"scheduler={self.scheduler!r} must be None or one of {', '.join(SCHEDULERS)}"
            )
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum} must lie in [0, 1)")
        if not 0 <= self.lr_min <= self.lr:
            raise ValueError(f"lr_min={self.lr_min} must lie in [0, lr={self.lr}]")
        if self.lr_step < 1 or not 0 < self.lr_gamma <= 1:
            raise ValueError(
                f"lr_step={self.lr_step} must be >= 1 and lr_gamma={self.lr_gamma} in (0, 1]"
            )
        if self.amp not in (None, *AMP_DTYPES):
            raise ValueError(f"amp={self.amp!r} must be None, 'bf16' or 'fp16'")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing={self.label_smoothing} must lie in [0, 1)")
        if self.eval_every < 1:
            raise ValueError(f"eval_every={self.eval_every} must be at least 1")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} must be at least 1")
        if self.resume and self.checkpoint is None:
            raise ValueError("resume=True needs checkpoint= (the file to resume from)")
        if self.missing_ok and not self.resume:
            raise ValueError("missing_ok=True applies with resume=True only")
        if self.memory_every < 0 or self.collapse_patience < 0:
            raise ValueError(
                f"memory_every={self.memory_every} and collapse_patience="
                f"{self.collapse_patience} must be >= 0"
            )
        self.weight_decay_on = tuple(self.weight_decay_on)
