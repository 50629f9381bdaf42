"""Ending a run once the validation score has stopped improving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revgnn.training.callback import Callback

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stops the run after ``patience`` evaluations in a row without a better validation
    score than the best so far (the best weights are still the ones loaded at the end).

    Args:
        patience (int): Evaluations without improvement. With ``eval_every=k`` that is
            ``patience * k`` epochs.
    """

    order = 45

    def __init__(self, patience: int) -> None:
        if patience < 1:
            raise ValueError(f"patience={patience} must be at least 1")
        self.patience = patience
        self.waited = 0

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        if loop.best["epoch"] == epoch:
            self.waited = 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            loop.stop(
                f"early stop: no better validation {loop.task.metric} in {self.patience} "
                f"evaluations (best {loop.best['valid']:.4f} at epoch {loop.best['epoch']})"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"waited": self.waited}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.waited = int(state["waited"])

    def __repr__(self) -> str:
        return f"EarlyStopping(patience={self.patience})"
