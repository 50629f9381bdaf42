"""Keeping the best-validation weights of a run."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import Tensor

from revgnn.config.optim import check_select_on
from revgnn.training.callback import Callback

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["BestWeights"]


class BestWeights(Callback):
    """Keeps a copy of the weights of the evaluation with the best validation score (the
    highest, or the lowest for an error metric such as RMSE: ``task.maximize``; ties keep the
    earlier one) and loads them at the end of the run; ``loop.best`` holds that
    evaluation's scores and epoch. Under DDP every rank ends with rank 0's best weights.

    Args:
        select_on (str, optional): ``"metric"``: the highest validation metric is best;
            ``"loss"``: the lowest validation loss (GCNII's protocol), for tasks that report
            it (:attr:`~revgnn.training.task.Task.reports_valid_loss`); ``loop.best`` then
            holds it as ``valid_loss``. (default: ``"metric"``)
    """

    order = 40

    def __init__(self, select_on: str = "metric") -> None:
        check_select_on(select_on)
        self.select_on = select_on
        self.state: dict[str, Tensor] | None = None

    def on_fit_start(self, loop: Loop) -> None:
        if self.select_on == "loss" and not loop.task.reports_valid_loss:
            task = type(loop.task).__name__
            raise ValueError(
                f"select_on='loss' needs the validation loss, which the {task} does not report "
                "(node and graph tasks do): select on the metric (--select-on metric)"
            )

    def _better(self, loop: Loop, evaluation: Evaluation) -> bool:
        if self.select_on == "metric":
            valid, best = evaluation.scores["valid"], loop.best["valid"]
            return valid > best if loop.task.maximize else valid < best
        return evaluation.extra["valid_loss"] < loop.best.get("valid_loss", math.inf)

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        if self._better(loop, evaluation):
            loop.best = {"epoch": epoch, **evaluation.scores}
            if self.select_on == "loss":
                loop.best["valid_loss"] = evaluation.extra["valid_loss"]
            self.state = {k: v.detach().clone() for k, v in loop.model.state_dict().items()}

    def on_fit_end(self, loop: Loop) -> None:
        if loop.main and self.state is not None and loop.task.select_best:
            loop.model.load_state_dict(self.state)
        if loop.distributed:
            with torch.no_grad():
                for tensor in loop.model.state_dict().values():
                    dist.broadcast(tensor, src=0)

    def restore(self, loop: Loop) -> bool:
        """Load the best weights now (the collapse monitor's response); ``False`` when there
        are none yet."""
        if self.state is None:
            return False
        loop.model.load_state_dict(self.state)
        return True

    def __repr__(self) -> str:
        return f"BestWeights(select_on={self.select_on!r})"

    def state_dict(self) -> dict[str, Any]:
        return {"state": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = state["state"]
