"""Compilations per epoch: a run's compiled kernels are built in its first epoch, never again.

The compiled kernels (:mod:`revgnn.utils.compile`) use dynamic shapes, so the random parts of
a partitioned run, whose node and edge counts change every batch, reuse the kernels the first
batches compiled. This callback checks that it holds: each epoch's record gets the number of
kernels compiled during the epoch (``compilations``) and their wall time
(``compile_seconds``); the first epoch's are reported once, and a compilation in any later
epoch is reported when it happens (each costs seconds, and one per epoch would mean a shape
the kernels specialised on). The run's totals go to :class:`~revgnn.training.TrainResult`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revgnn.training.callback import Callback
from revgnn.utils.compile import compile_stats, kernels

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["CompileMonitor"]


class CompileMonitor(Callback):
    """Counts the compilations of each epoch (see the module docstring).

    Attributes:
        compilations (int): Kernels compiled during this run.
        seconds (float): Their wall time.
        recompilations (int): Those compiled after the run's first epoch.
    """

    order = 40  # before the log and the progress bar read the record

    def __init__(self) -> None:
        self.compilations, self.seconds, self.recompilations = 0, 0.0, 0
        self._count, self._seconds, self._first = 0, 0.0, 0

    def _now(self) -> tuple[int, float]:
        stats = compile_stats()
        return stats.compilations, stats.seconds

    def on_fit_start(self, loop: Loop) -> None:
        self._count, self._seconds = self._now()
        self._first = loop.start

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        count, seconds = self._now()
        added, spent = count - self._count, seconds - self._seconds
        self._count, self._seconds = count, seconds
        record["compilations"] = added
        record["compile_seconds"] = round(spent, 3)
        self.compilations += added
        self.seconds += spent
        if epoch == self._first:
            if added:
                loop.say(f"compiled {kernels(added)} in {spent:.1f} s (first epoch)")
        elif added:
            self.recompilations += added
            loop.say(
                f"epoch {epoch} compiled {kernels(added)} more ({spent:.1f} s): an input "
                "shape or dtype the first epoch did not have"
            )

    def __repr__(self) -> str:
        return (
            f"CompileMonitor(compilations={self.compilations}, "
            f"recompilations={self.recompilations})"
        )
