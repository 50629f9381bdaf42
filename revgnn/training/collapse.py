"""Noticing, and answering, a model whose predictions have collapsed to one class."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from revgnn.training.callback import Callback
from revgnn.utils.warn import warn_user

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["CollapseMonitor"]


class CollapseMonitor(Callback):
    """Counts evaluations in a row whose validation predictions are a single class and,
    when ``patience`` are reached, says so once.

    Args:
        patience (int): Evaluations in a row.
    """

    order = 50

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.run: list[int] = []
        self.warned = False

    def update(self, epoch: int, classes: int | None) -> str | None:
        """Record one evaluation; returns the message to give when collapse is reached."""
        if classes is None or self.patience == 0:
            return None
        self.run = [*self.run, epoch] if classes == 1 else []
        if self.warned or len(self.run) < self.patience:
            return None
        self.warned = True
        return (
            f"the model has predicted one class for every validation node for "
            f"{self.patience} evaluations running (epochs {self.run[0]}-{self.run[-1]}): it "
            "has collapsed to a single class. Likely causes: a learning rate too high (try "
            "--lr 10x lower), too much dropout (--dropout / --input-dropout), or the "
            "normalisation (--norm layer or batch)"
        )

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        message = self.update(epoch, evaluation.valid_classes)
        if message is not None:
            warn_user(message)

    def state_dict(self) -> dict[str, Any]:
        return {"run": list(self.run), "warned": self.warned}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run, self.warned = list(state["run"]), bool(state["warned"])
