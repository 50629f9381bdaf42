"""The recipe of a run, kept in its checkpoint so that the trained model can be rebuilt."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from torch import nn

from revgnn.config.recipe import Recipe, recipe_from_text
from revgnn.training.callback import Callback
from revgnn.training.checkpoint import CheckpointError, load_checkpoint, restore_trained
from revgnn.training.experiment import Experiment, prepare

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["RecipeRecord", "load_run"]


class RecipeRecord(Callback):
    """Keeps ``recipe`` (resolved: its ``auto`` settings filled in) in the run's checkpoints,
    as YAML text, plain data that ``weights_only`` reads: :func:`load_run` rebuilds the run's
    dataset and model from it. Its run settings are the run's own (a leaderboard's run ``r``
    trains seed ``seed + r`` into its own checkpoint). Every ``revgnn`` command that trains
    adds one; a resumed run records its own."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self.text = recipe.to_yaml()

    def on_fit_start(self, loop: Loop) -> None:
        cfg = loop.cfg
        run = replace(self.recipe.run, seed=cfg.seed, checkpoint=cfg.checkpoint,
                      log_path=cfg.log_path)  # fmt: skip
        self.text = replace(self.recipe, run=run).to_yaml()

    def state_dict(self) -> dict[str, Any]:
        return {"recipe": self.text}


def load_run(path: str, root: str | None = None) -> tuple[Experiment, nn.Module]:
    """The run that wrote checkpoint ``path`` (with ``revgnn train --checkpoint``): its
    experiment (the dataset loaded and preprocessed as in the run, from ``root`` if given,
    else from the run's ``--root``) and its trained model in eval mode (the best-validation
    weights: :func:`~revgnn.training.checkpoint.load_trained`).

    Example::

        exp, model = load_run("run.pt")
        data = exp.dataset.data
        pred = model(data.x, data.edge_index).argmax(-1)
    """
    ckpt = load_checkpoint(path)
    text = (ckpt.get("callbacks", {}).get("RecipeRecord") or {}).get("recipe")
    if not isinstance(text, str):
        raise CheckpointError(
            f"checkpoint {path} holds no recipe: a run of revgnn train or deepgcn keeps one, "
            f"and this was written by revgnn.train() with a model built in Python (or by "
            f"revgnn search); build that model and load its weights with "
            f"load_trained(model, {path!r})"
        )
    recipe = recipe_from_text(text, path, explicit=False)
    if root is not None:
        recipe = recipe.with_values({"data.root": root}, explicit=False)
    exp = prepare(recipe)
    return exp, restore_trained(exp.build(), ckpt, path)
