"""Ending a run once the validation score has stopped improving."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revgnn.config.optim import check_select_on
from revgnn.training.callback import Callback

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stops the run after ``patience`` evaluations in a row without a better validation
    score than the best so far (the best weights are still the ones loaded at the end).
    "Better" is what :class:`~revgnn.training.best_weights.BestWeights` selects on: the run's
    best epoch moves only when it finds one.

    Args:
        patience (int): Evaluations without improvement. With ``eval_every=k`` that is
            ``patience * k`` epochs.
        select_on (str, optional): What the best epoch is chosen on, ``"metric"`` or
            ``"loss"``, for the stop's message. (default: ``"metric"``)
    """

    order = 45

    def __init__(self, patience: int, select_on: str = "metric") -> None:
        if patience < 1:
            raise ValueError(f"patience={patience} must be at least 1")
        check_select_on(select_on)
        self.patience = patience
        self.select_on = select_on
        self.waited = 0

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        if loop.best["epoch"] == epoch:
            self.waited = 0
            return
        self.waited += 1
        if self.waited >= self.patience:
            if self.select_on == "loss":
                what, best = "lower validation loss", loop.best["valid_loss"]
            else:
                what, best = f"better validation {loop.task.metric}", loop.best["valid"]
            loop.stop(
                f"early stop: no {what} in {self.patience} evaluations (best {best:.4f} at "
                f"epoch {loop.best['epoch']})"
            )

    def state_dict(self) -> dict[str, Any]:
        return {"waited": self.waited}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.waited = int(state["waited"])

    def __repr__(self) -> str:
        return f"EarlyStopping(patience={self.patience}, select_on={self.select_on!r})"
