"""Ctrl-C during training: where the run stopped and how to continue it.

A ``KeyboardInterrupt`` in the middle of an epoch leaves the weights half-way through an
optimiser step, so nothing is saved at that moment; the run's checkpoint (written every
``checkpoint_every`` epochs) is what a resumed run continues from. :class:`TrainingInterrupted`
says which epoch that is, or that the run has no checkpoint, and the command line prints it as
one line with exit status 130 (the shell's status for Ctrl-C).

Python raises Ctrl-C's ``KeyboardInterrupt`` wherever the interpreter happens to be, and one
raised inside a weakref callback or a ``__del__`` (``torch.compile`` runs many) is printed as
"Exception ignored" and lost: the run would go on training. :class:`SigintLatch` records the
press as well, keeps the lost exception's traceback off the screen, and the loop raises it at
the next batch boundary. A press while a checkpoint is being written waits for the write to
end (:meth:`SigintLatch.deferred`), so the newest checkpoint is kept.
"""

from __future__ import annotations

import contextlib
import math
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["SigintLatch", "TrainingInterrupted", "interrupted"]


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


class SigintLatch:
    """While entered, Ctrl-C raises ``KeyboardInterrupt`` as Python's own handler does and
    also sets :attr:`pressed`, so a press that Python swallowed is not lost: :meth:`check`
    raises it again. The swallowed one is not reported through ``sys.unraisablehook`` (it is
    not lost). A no-op outside the main thread, or where someone else (a user, a launcher) has
    installed their own SIGINT handler, which is left alone."""

    def __init__(self) -> None:
        self.pressed = False
        self._defer = False
        self._previous: Any = None
        self._hook: Any = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.pressed = True
        if not self._defer:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A press inside only sets :attr:`pressed`; :meth:`check` raises it afterwards."""
        self._defer = True
        try:
            yield
        finally:
            self._defer = False

    def _unraisable(self, unraisable: Any) -> None:
        if not (self.pressed and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self._hook(unraisable)

    def __enter__(self) -> SigintLatch:
        self.pressed = False
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._hook
            self._previous = self._hook = None

    def check(self) -> None:
        """Raise the ``KeyboardInterrupt`` of a press that has not stopped the run."""
        if self.pressed:
            self.pressed = False
            raise KeyboardInterrupt


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
