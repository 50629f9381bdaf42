"""Ctrl-C during training: where the run stopped and how to continue it.

A ``KeyboardInterrupt`` in the middle of an epoch leaves the weights half-way through an
optimiser step, so nothing is saved at that moment; the run's checkpoint (written every
``checkpoint_every`` epochs) is what a resumed run continues from. :class:`TrainingInterrupted`
says which epoch that is, or that the run has no checkpoint, and the command line prints it as
one line with exit status 130 (the shell's status for Ctrl-C).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["TrainingInterrupted", "interrupted"]


class TrainingInterrupted(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` raised by :func:`revgnn.train`, its message saying where the run
    stopped. ``epoch`` is the epoch it was in, ``checkpoint`` the checkpoint file (``None``:
    the run writes none) and ``checkpoint_epoch`` the epoch that file holds (``None``: none
    written yet)."""

    def __init__(
        self, message: str, epoch: int, checkpoint: str | None, checkpoint_epoch: int | None
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.checkpoint = checkpoint
        self.checkpoint_epoch = checkpoint_epoch


def interrupted(loop: Loop, epoch: int) -> TrainingInterrupted:
    """The :class:`TrainingInterrupted` of ``loop`` stopped by Ctrl-C in ``epoch``."""
    from revgnn.training.checkpointer import Checkpointer

    best = loop.best
    parts = [f"interrupted in epoch {epoch}"]
    if best["epoch"] and math.isfinite(best["valid"]):
        metric = loop.task.metric
        parts.append(
            f"(best valid {metric} {best['valid']:.4f} at epoch {best['epoch']}, test "
            f"{best['test']:.4f})"
        )
    checkpointer = loop.find(Checkpointer)
    path = checkpointer.path if checkpointer is not None else None
    saved = checkpointer.saved_epoch if checkpointer is not None else None
    if path is None:
        tail = "no checkpoint was kept: pass --checkpoint FILE to be able to resume a run"
    elif saved is None:
        tail = (
            f"{path} holds no epoch of this run yet (written every {checkpointer.every} "
            "epochs): run the same command again to start over"
        )
    else:
        tail = (
            f"{path} holds epoch {saved}: add --resume to the same command (resume=True in "
            "Python) to continue from it"
        )
    return TrainingInterrupted(f"{' '.join(parts)}; {tail}", epoch, path, saved)
