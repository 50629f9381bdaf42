"""Noticing, and answering, a model whose predictions have collapsed to one class."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from revgnn.training.best_weights import BestWeights
from revgnn.training.callback import Callback
from revgnn.utils.warn import warn_user

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["CollapseMonitor"]

CAUSES = (
    "Likely causes: a learning rate too high (--lr), too much dropout (--dropout / "
    "--input-dropout), or the normalisation (--norm layer or batch)"
)


class CollapseMonitor(Callback):
    """Answers a run whose validation predictions have become a single class.

    After ``after`` epochs (a deep model that starts as the identity may predict one class
    for a few epochs), ``patience`` evaluations in a row predicting one class for every
    validation node count as a collapse, unless the training loss fell by ``min_progress``
    (relative) or more over them, or lies below the task's prior loss
    (:meth:`~revgnn.training.Task.prior_loss`: the loss of the best prediction shared by
    every node, the entropy of the training labels' class frequencies). Such a model is still
    learning its way out of the majority class: its loss falls fast (Coauthor CS at 16
    layers: 15 epochs of one class, the loss falling 2-3% an epoch), or it already predicts
    from its inputs, which no input-independent prediction's loss can be below (Coauthor CS at
    64 layers: one class until epoch 40, the loss falling about 1% an epoch, below the prior
    from epoch 14). It is left alone, since loading its earlier weights again would only undo
    that progress. The response: the best
    weights so far are loaded again, every learning rate is multiplied by ``lr_factor`` and
    the optimiser's state (the moments that led there) is cleared, and the run goes on. After
    ``max_responses`` responses the run stops, keeping its best weights. Each response is one
    warning and one ``collapse`` entry in the epoch's record. Tasks without class predictions
    (multi-label, regression) are never counted.

    Args:
        patience (int): Evaluations in a row. (``0``: never react)
        after (int): Epochs not counted at the start of a run. (default: ``10``)
        lr_factor (float): Learning-rate factor of a response. (default: ``0.5``)
        max_responses (int): Responses before the run stops. (default: ``3``)
        min_progress (float): The training loss's relative fall over a run of single-class
            evaluations that shows the model is still learning. (default: ``0.05``)
    """

    order = 50

    def __init__(
        self,
        patience: int,
        after: int = 10,
        lr_factor: float = 0.5,
        max_responses: int = 3,
        min_progress: float = 0.05,
    ) -> None:
        if not 0.0 < lr_factor <= 1.0:
            raise ValueError(f"lr_factor={lr_factor} must lie in (0, 1]")
        if not 0.0 <= min_progress < 1.0:
            raise ValueError(f"min_progress={min_progress} must lie in [0, 1)")
        self.patience = patience
        self.after = after
        self.lr_factor = lr_factor
        self.max_responses = max_responses
        self.min_progress = min_progress
        self.run: list[int] = []
        self.run_loss = math.nan
        self.prior = math.nan
        self.responses = 0
        self.pending: str | None = None

    def update(
        self, epoch: int, classes: int | None, loss: float = math.nan, prior: float = math.nan
    ) -> bool:
        """Record one evaluation and the training loss before it (and the task's prior loss,
        if known); whether it completes a collapse."""
        if classes is None or self.patience == 0 or epoch <= self.after:
            return False
        # Below the prior by more than rounding: the predictions depend on the inputs.
        predicts = loss < prior * (1.0 - 1e-6)
        if classes != 1 or predicts or loss < self.run_loss * (1.0 - self.min_progress):
            self.run = []  # varied predictions, or a model still learning: count anew
        if classes != 1:
            return False
        if not self.run:
            self.run_loss = loss
        self.run = [*self.run, epoch]
        return len(self.run) >= self.patience

    def on_fit_start(self, loop: Loop) -> None:
        prior = loop.task.prior_loss(loop.cfg.label_smoothing)
        self.prior = math.nan if prior is None else prior

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        if not self.update(epoch, evaluation.valid_classes, loop.final_loss, self.prior):
            return
        first, last = self.run[0], self.run[-1]
        self.run = []
        self.responses += 1
        seen = (
            f"the model predicted one class for every validation node for {self.patience} "
            f"evaluations running (epochs {first}-{last})"
        )
        if self.responses > self.max_responses:
            warn_user(f"{seen}, after {self.max_responses} responses: stopping. {CAUSES}")
            loop.stop(f"collapsed to a single class {self.responses} times")
            self.pending = "stopped"
            return
        restored = any(cb.restore(loop) for cb in loop.callbacks if isinstance(cb, BestWeights))
        for optimizer in loop.optimizers.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] *= self.lr_factor
            optimizer.state.clear()
        best = f"loaded the best weights (epoch {loop.best['epoch']}), " if restored else ""
        self.pending = f"{best}lr x{self.lr_factor:g}"
        warn_user(
            f"{seen}: {best}multiplied the learning rate by {self.lr_factor:g} and reset the "
            f"optimiser (response {self.responses} of {self.max_responses}). {CAUSES}"
        )

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        if self.pending is not None:
            record["collapse"] = self.pending
            self.pending = None

    def state_dict(self) -> dict[str, Any]:
        return {"run": list(self.run), "responses": self.responses, "run_loss": self.run_loss}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run = list(state["run"])
        self.responses = int(state.get("responses", 0))
        self.run_loss = float(state.get("run_loss", math.nan))

    def __repr__(self) -> str:
        return (
            f"CollapseMonitor(patience={self.patience}, after={self.after}, "
            f"lr_factor={self.lr_factor:g}, max_responses={self.max_responses}, "
            f"min_progress={self.min_progress:g})"
        )
