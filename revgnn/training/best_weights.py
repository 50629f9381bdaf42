"""Keeping the best-validation weights of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import Tensor

from revgnn.training.callback import Callback

if TYPE_CHECKING:
    from revgnn.training.loop import Loop
    from revgnn.training.task import Evaluation

__all__ = ["BestWeights"]


class BestWeights(Callback):
    """Keeps a copy of the weights of the evaluation with the best validation score (ties
    keep the earlier one) and loads them at the end of the run; ``loop.best`` holds that
    evaluation's scores and epoch. Under DDP every rank ends with rank 0's best weights."""

    order = 40

    def __init__(self) -> None:
        self.state: dict[str, Tensor] | None = None

    def on_evaluate(self, loop: Loop, epoch: int, evaluation: Evaluation) -> None:
        scores = evaluation.scores
        if scores["valid"] > loop.best["valid"]:
            loop.best = {"epoch": epoch, **scores}
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

    def state_dict(self) -> dict[str, Any]:
        return {"state": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = state["state"]
