"""What the training loop calls besides the step: the callbacks.

The loop (:class:`~revgnn.training.loop.Loop`) does the optimisation; everything else a run
does is a callback: checkpoints and resume, the JSONL log, the progress bar, the memory
measurements, the best weights, early stopping, the collapse monitor. A user adds one by
subclassing :class:`Callback` and passing it to :func:`revgnn.train` (``callbacks=``).

Hooks are called in ascending :attr:`Callback.order` (ties keep the list's order). What a
callback must carry over a resume it returns from :meth:`Callback.state_dict`: the
checkpoint stores it and :meth:`Callback.load_state_dict` gets it back, so a resumed run
ends exactly where an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["Callback"]

Steps = Callable[[Sequence[Any]], tuple[float, int]]


class Callback:
    """Base class of the loop's callbacks; every hook does nothing by default.

    Attributes:
        order (int): When the hooks run relative to other callbacks' (lower first); the
            checkpoint callback restores a run first (``0``), most callbacks use ``50``.
    """

    order: int = 50

    def on_fit_start(self, loop: Loop) -> None:
        """Before the first epoch (after a resume has restored the run's state)."""

    def on_epoch_start(self, loop: Loop, epoch: int) -> None:
        """Before epoch ``epoch`` (1-based) trains."""

    def wrap_steps(self, loop: Loop, epoch: int, steps: Steps, batches: Sequence[Any]) -> tuple:
        """Run ``steps(batches)`` (the epoch's optimiser steps), e.g. inside a measurement;
        returns its ``(loss sum, example count)``."""
        return steps(batches)

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        """After an evaluation (on rank 0 only), before the epoch's record is written."""

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        """After the epoch; ``record`` is its log line (loss, scores, seconds, memory)."""

    def on_checkpoint(self, loop: Loop, epoch: int) -> None:
        """After every callback's :meth:`on_epoch_end`: when state is saved."""

    def on_fit_end(self, loop: Loop) -> None:
        """After the last epoch (or an early stop)."""

    def state_dict(self) -> dict[str, Any] | None:
        """What a resumed run needs of this callback (tensors and plain data)."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`'s result."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
