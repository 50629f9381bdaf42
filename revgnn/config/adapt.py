r"""The library's rule for ``"auto"`` settings: what the recipe adapts to.

Every ``"auto"`` value of a recipe is resolved here from measurable properties, never from a
dataset's name:

* the depth (``model.num_layers``): from :data:`~revgnn.config.model.DEEP` layers on, every
  block's branch starts at zero behind a learnable gate (``branch_gate=0``, ReZero) and the
  weight decay applies to every parameter (``weight_decay_on=""``); below, no gate and the
  weight decay on the input encoder only (GCN's recipe; resolved on the built model by
  :func:`adapt_to_model`, which knows where its encoder is);
* the graph (:class:`GraphStats`);
* the machine: ``run.device`` is CUDA when torch sees a GPU.

:func:`adapt` returns the recipe with every such value filled in: what ``--print-config``
prints and the run's JSON records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from revgnn.config.fields import AUTO
from revgnn.config.model import DEEP, ModelConfig
from revgnn.config.recipe import Recipe
from revgnn.models.registry import MODELS

__all__ = ["GraphStats", "adapt", "adapt_model", "adapt_to_model", "weight_decay_targets"]

#: The submodule of the node models that GCN's recipe decays: the input encoder.
INPUT_ENCODER = "encoder.node"


@dataclass(frozen=True)
class GraphStats:
    """What the recipe may adapt to about a dataset.

    Args:
        num_nodes, num_edges: Sizes (directed edges, as in ``edge_index``).
        num_features: Node feature size.
        binary_features: Whether every feature value is 0 or 1 (bag-of-words, one-hot).
        nonnegative_features: Whether no feature value is negative.
    """

    num_nodes: int
    num_edges: int
    num_features: int
    binary_features: bool
    nonnegative_features: bool


def adapt_model(cfg: ModelConfig) -> ModelConfig:
    """``cfg`` with its depth-dependent ``"auto"`` settings filled in (see the module
    docstring)."""
    gated = isinstance(cfg, ModelConfig) and MODELS.entry(cfg.model).accepts("branch_gate", 3)
    if gated and cfg.branch_gate == AUTO:
        return replace(cfg, branch_gate=0.0 if cfg.num_layers >= DEEP else None)
    return cfg


def weight_decay_targets(num_layers: int | None, has_input_encoder: bool) -> str:
    """``weight_decay_on="auto"``: the input encoder below :data:`DEEP` layers (GCN's recipe:
    weight decay on the first layer), every parameter (``""``) from there on and for models
    without a node encoder or a depth."""
    shallow = num_layers is not None and num_layers < DEEP
    return INPUT_ENCODER if shallow and has_input_encoder else ""


def adapt(recipe: Recipe, stats: GraphStats | None = None) -> Recipe:
    """``recipe`` with every ``"auto"`` setting filled in (see the module docstring)."""
    model = adapt_model(recipe.model)
    optim = recipe.optim
    run = recipe.run
    if run.device == AUTO:
        run = replace(run, device="cuda" if torch.cuda.is_available() else "cpu")
    return replace(recipe, model=model, optim=optim, run=run)


def adapt_to_model(recipe: Recipe, decay_on: str) -> Recipe:
    """``recipe`` with ``weight_decay_on="auto"`` replaced by what it resolves to for the
    built model (``decay_on``: the input encoder's name in it, or ``""``)."""
    if recipe.optim.weight_decay_on != AUTO:
        return recipe
    return replace(recipe, optim=replace(recipe.optim, weight_decay_on=decay_on))


def resolved(recipe: Recipe) -> dict[str, Any]:
    """The recipe as plain data, every value resolved (what a run records)."""
    return recipe.to_dict(full=True)
