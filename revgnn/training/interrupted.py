"""Ctrl-C or a termination signal during training: where the run stopped and how to continue.

A ``KeyboardInterrupt`` in the middle of an epoch leaves the weights half-way through an
optimiser step, so nothing is saved at that moment; the run's checkpoint (written every
``checkpoint_every`` epochs) is what a resumed run continues from. :class:`TrainingInterrupted`
says which epoch that is, or that the run has no checkpoint, and the command line prints it as
one line with exit status 128 + the signal's number (130 for Ctrl-C, as the shell reports it).

``SIGTERM``, what ``kill``, ``timeout``, ``docker stop`` and batch schedulers send (SLURM
before a preemption or at the time limit), is handled the same way where nobody else has
installed a handler for it: without one, Python dies at once, with no line saying what the
checkpoint holds, and a checkpoint being written is cut short (its atomic write keeps the
previous one).

Python raises Ctrl-C's ``KeyboardInterrupt`` wherever the interpreter happens to be, and one
raised inside a weakref callback or a ``__del__`` (``torch.compile`` runs many) is printed as
"Exception ignored" and lost: the run would go on training. :class:`SignalLatch` records the
signal as well, keeps the lost exception's traceback off the screen, and the loop raises it at
the next batch boundary. A signal while a checkpoint is being written waits for the write to
end (:meth:`SignalLatch.deferred`), so the newest checkpoint is kept.
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

__all__ = ["SignalLatch", "TrainingInterrupted", "interrupted"]


class TrainingInterrupted(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` raised by :func:`revgnn.train`, its message saying where the run
    stopped. ``epoch`` is the epoch it was in, ``checkpoint`` the checkpoint file (``None``:
    the run writes none), ``checkpoint_epoch`` the epoch that file holds (``None``: none
    written yet) and ``signum`` the signal that stopped it (``SIGINT``: Ctrl-C)."""

    def __init__(
        self,
        message: str,
        epoch: int,
        checkpoint: str | None,
        checkpoint_epoch: int | None,
        signum: int = signal.SIGINT,
    ) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.checkpoint = checkpoint
        self.checkpoint_epoch = checkpoint_epoch
        self.signum = int(signum)


#: The signals a run stops on, and the default handler each must still have for the latch to
#: take it over (a user's or a launcher's own handler is left alone).
_SIGNALS = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}


class SignalLatch:
    """While entered, Ctrl-C (and ``SIGTERM``) raise ``KeyboardInterrupt`` as Python's own
    Ctrl-C handler does and also set :attr:`signum`, so a signal whose exception Python
    swallowed is not lost: :meth:`check` raises it again. The swallowed exception is not
    reported through ``sys.unraisablehook`` (it is not lost). Each signal is taken over only
    in the main thread and where it still has its default handler: one that a user or a
    launcher has installed is left alone."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._defer = False
        self._previous: dict[int, Any] = {}
        self._hook: Any = None

    @property
    def pressed(self) -> bool:
        return self.signum is not None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum
        if not self._defer:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A signal inside only sets :attr:`signum`; :meth:`check` raises it afterwards."""
        self._defer = True
        try:
            yield
        finally:
            self._defer = False

    def _unraisable(self, unraisable: Any) -> None:
        if not (self.pressed and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            self._hook(unraisable)

    def __enter__(self) -> SignalLatch:
        self.signum = None
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum, default in _SIGNALS.items():
            if signal.getsignal(signum) is default:
                self._previous[signum] = signal.signal(signum, self._handler)
        if self._previous:
            self._hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        if self._previous:
            sys.unraisablehook = self._hook
            self._previous, self._hook = {}, None

    def check(self) -> None:
        """Raise the ``KeyboardInterrupt`` of a signal that has not stopped the run."""
        if self.pressed:
            raise KeyboardInterrupt


def interrupted(loop: Loop, epoch: int) -> TrainingInterrupted:
    """The :class:`TrainingInterrupted` of ``loop`` stopped in ``epoch`` by Ctrl-C or by the
    signal its latch recorded."""
    from revgnn.training.checkpointer import Checkpointer

    best = loop.best
    signum = loop.signals.signum or signal.SIGINT
    stopped = (
        "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    )
    parts = [f"{stopped} in epoch {epoch}"]
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
    return TrainingInterrupted(f"{' '.join(parts)}; {tail}", epoch, path, saved, signum)
