"""From a recipe to a run: the dataset, the adapted recipe, the task and the model.

:func:`prepare` is the one path every command, example and benchmark takes from a
:class:`~revgnn.config.Recipe` to what :func:`revgnn.train` needs: it loads the dataset
(refusing data settings it does not read), fills the recipe's ``"auto"`` settings from the
graph (:func:`revgnn.config.adapt`), builds the task of the dataset's kind and checks that
the model builds, before any training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from revgnn.config.adapt import adapt, adapt_to_model
from revgnn.config.build import build_model
from revgnn.config.model import ModelConfig, PointModelConfig
from revgnn.config.recipe import Recipe
from revgnn.config.train import TrainConfig
from revgnn.datasets.features import with_features
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.positional_features import with_positional
from revgnn.datasets.registry import canonical_dataset, dataset_kind, load_dataset
from revgnn.datasets.stats import graph_stats
from revgnn.models.head import Head
from revgnn.nn.knn import DilatedKnnGraph
from revgnn.training.optimizers import block_decay, decay_targets
from revgnn.training.task import Task, build_task

__all__ = ["Experiment", "adapt_to_data", "prepare"]

#: OGB's molecule encoders' input sizes (atom and bond features).
ATOM_FEATURES, BOND_FEATURES = 9, 3


@dataclass
class Experiment:
    """A recipe made concrete: the resolved recipe, its dataset and task, and the sizes the
    model is built for (:meth:`build`)."""

    recipe: Recipe
    dataset: Any
    task: Task
    kind: str
    in_channels: int
    out_channels: int
    edge_dim: int | None

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.of(self.recipe.optim, self.recipe.run)

    def build(self) -> nn.Module:
        """A freshly initialised model of the recipe for this dataset (a molecule set's
        model reads OGB's atom and bond encoders and pools per graph)."""
        explicit = {k.split(".", 1)[1] for k in self.recipe.explicit if k.startswith("model.")}
        model = build_model(
            self.recipe.model, self.in_channels, self.out_channels, self.edge_dim,
            explicit=explicit,
        )  # fmt: skip
        if self.kind == "graphs":
            from revgnn.models.graph_predictor import GraphPredictor

            model = GraphPredictor(model, self.recipe.model.hidden_channels)
        if getattr(self.recipe.model, "head_bias", None) == "prior":
            prior = self.task.prior_logits()
            head = getattr(model, "head", None)
            if prior is None or not isinstance(head, Head):
                raise ValueError(
                    f"head_bias='prior' needs a node task and a model with an output head "
                    f"(--dataset {self.recipe.data.dataset} --model {self.recipe.model.model} "
                    "has none): use --head-bias init"
                )
            head.init_bias(prior.to(head.lin.bias.dtype))
        return model

    def describe(self) -> str:
        return self.task.describe()


def _edge_dim(dataset: Any) -> int | None:
    """The edge feature size the model is built for: a node graph's, a molecule's bonds."""
    if isinstance(dataset, NodeDataset):
        return dataset.edge_dim
    return BOND_FEATURES if isinstance(dataset, tuple) else None


def _sizes(dataset: Any, kind: str) -> tuple[int, int, int | None]:
    if kind == "node":
        return dataset.num_features, dataset.num_classes, _edge_dim(dataset)
    if kind == "points":
        return dataset.num_features, dataset.num_classes, None
    if kind == "inductive":
        graph = dataset["train"][0]
        return int(graph.x.size(-1)), int(graph.y.size(-1)), None
    graphs, _ = dataset
    return ATOM_FEATURES, int(graphs.num_tasks), _edge_dim(dataset)


def _check_family(recipe: Recipe, kind: str) -> None:
    wants = PointModelConfig if kind in ("points", "inductive") else ModelConfig
    if not isinstance(recipe.model, wants):
        family = "point-cloud (revgnn deepgcn)" if wants is PointModelConfig else "node"
        raise ValueError(
            f"--dataset {recipe.data.dataset} needs a {family} model, not --model "
            f"{recipe.model.model}"
        )


def _check_neighbourhoods(model: nn.Module, num_points: int, dataset: str) -> None:
    """Every k-NN graph of ``model`` must fit a cloud: ``k x dilation <= num_points``."""
    graphs = [m for m in model.modules() if isinstance(m, DilatedKnnGraph)]
    if not graphs:
        return
    worst = max(graphs, key=lambda g: g.k * g.dilation)
    if worst.k * worst.dilation <= num_points:
        return
    largest = num_points // worst.k
    fix = f"--max-dilation {largest}" if largest >= 1 else f"--k {num_points} or less"
    raise ValueError(
        f"--k {worst.k} with dilation {worst.dilation} (1 + block index, up to --max-dilation) "
        f"asks {worst.k * worst.dilation} neighbours of {dataset}'s clouds of {num_points} "
        f"points: pass {fix}, or lower --k or --layers, or use more points per cloud"
    )


def adapt_to_data(dataset: Any, recipe: Recipe) -> tuple[Any, Recipe]:
    """``recipe`` with its ``"auto"`` settings resolved for the loaded ``dataset``, and a node
    dataset with the recipe's feature preprocessing and positional columns applied: what every
    command that trains on a loaded dataset does first."""
    recipe = adapt(recipe, graph_stats(dataset), _edge_dim(dataset))
    if isinstance(dataset, NodeDataset):
        dataset = with_features(dataset, recipe.data.features)
        if recipe.data.positional == "walk":
            dataset = with_positional(dataset, seed=recipe.data.split_seed)
    return dataset, recipe


def prepare(recipe: Recipe, *, build: bool = True) -> Experiment:
    """Load ``recipe``'s dataset, adapt the recipe to it, build its task and (``build``)
    check that its model builds: a wrong setting fails here, before any training."""
    data = canonical_dataset(recipe.data)
    if data is not recipe.data:
        recipe = replace(recipe, data=data)
    kind = dataset_kind(recipe.data.dataset)
    _check_family(recipe, kind)
    explicit = {k.split(".", 1)[1] for k in recipe.explicit if k.startswith("data.")}
    dataset = load_dataset(recipe.data, explicit=explicit)
    dataset, recipe = adapt_to_data(dataset, recipe)
    if kind == "points" and (dataset.task == "classification") != (
        recipe.model.task == "classification"
    ):
        raise ValueError(
            f"--dataset {recipe.data.dataset} is {dataset.task}, but the recipe's model has the "
            f"{recipe.model.task} head: use the dataset's recipe (--config deepgcn/<dataset>)"
        )
    in_channels, out_channels, edge_dim = _sizes(dataset, kind)
    task = build_task(dataset, recipe.data, kind)
    exp = Experiment(recipe, dataset, task, kind, in_channels, out_channels, edge_dim)
    if build:
        with torch.device("meta"):
            model = exp.build()  # a wrong setting fails here, before any training
        if kind == "points":
            _check_neighbourhoods(model, dataset.num_points, recipe.data.dataset)
        decay_on = decay_targets(model, recipe.optim.weight_decay_on)
        exp.recipe = adapt_to_model(
            recipe, decay_on, block_decay(model, recipe.optim.block_weight_decay)
        )
    return exp
