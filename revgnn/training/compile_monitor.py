"""Compilations per epoch: a run's compiled kernels are built in its first epoch and its first
evaluation, never again.

The compiled kernels (:mod:`revgnn.utils.compile`) use dynamic shapes, so the random parts of
a partitioned run, whose node and edge counts change every batch, reuse the kernels the first
batches compiled. This callback checks that it holds: each epoch's record gets the number of
kernels compiled during the epoch (``compilations``) and their wall time
(``compile_seconds``); the first epoch's are reported once, and so are those of the first
evaluation (a run that evaluates every few epochs compiles its evaluation kernels then), and
a compilation anywhere else is reported when it happens (each costs seconds, and one per
epoch would mean a shape the kernels specialised on). The run's totals go to
:class:`~revgnn.training.TrainResult`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from revgnn.training.callback import Callback, Steps
from revgnn.utils.compile import compile_stats, kernels

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["CompileMonitor"]


class CompileMonitor(Callback):
    """Counts the compilations of each epoch (see the module docstring).

    Attributes:
        compilations (int): Kernels compiled during this run.
        seconds (float): Their wall time.
        recompilations (int): Those compiled after the run's first epoch, other than in its
            first evaluation.
    """

    order = 40  # before the log and the progress bar read the record

    def __init__(self) -> None:
        self.compilations, self.seconds, self.recompilations = 0, 0.0, 0
        self._count, self._seconds, self._first = 0, 0.0, 0
        self._after_steps: tuple[int, float] = (0, 0.0)
        self._evaluated, self._eval_cost = False, (0, 0.0)

    def _now(self) -> tuple[int, float]:
        stats = compile_stats()
        return stats.compilations, stats.seconds

    def on_fit_start(self, loop: Loop) -> None:
        self._count, self._seconds = self._now()
        self._after_steps, self._first = (self._count, self._seconds), loop.start
        self._evaluated, self._eval_cost = False, (0, 0.0)

    def wrap_steps(self, loop: Loop, epoch: int, steps: Steps, batches: Sequence[Any]) -> tuple:
        out = steps(batches)
        self._after_steps = self._now()
        return out

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        # The evaluation's own kernels compile in this process's first evaluation only.
        if not self._evaluated:
            self._evaluated = True
            count, seconds = self._now()
            self._eval_cost = (count - self._after_steps[0], seconds - self._after_steps[1])

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        count, seconds = self._now()
        added, spent = count - self._count, seconds - self._seconds
        self._count, self._seconds = count, seconds
        record["compilations"] = added
        record["compile_seconds"] = round(spent, 3)
        self.compilations += added
        self.seconds += spent
        eval_added, eval_spent = self._eval_cost
        self._eval_cost = (0, 0.0)
        if epoch == self._first:
            if added:
                loop.say(f"compiled {kernels(added)} in {spent:.1f} s (first epoch)")
            return
        if eval_added:
            loop.say(
                f"compiled {kernels(eval_added)} in {eval_spent:.1f} s (first evaluation, "
                f"epoch {epoch})"
            )
        if added > eval_added:
            self.recompilations += added - eval_added
            loop.say(
                f"epoch {epoch} compiled {kernels(added - eval_added)} more "
                f"({spent - eval_spent:.1f} s): an input shape or dtype the first epoch and the "
                "first evaluation did not have"
            )

    def __repr__(self) -> str:
        return (
            f"CompileMonitor(compilations={self.compilations}, "
            f"recompilations={self.recompilations})"
        )
