"""Configuration as library data: frozen dataclasses for a model, an optimisation recipe, a
data recipe and a run, validated in one place; recipes as YAML files (the paper recipes ship
with the library); ``build_model(cfg)``; the command-line flags generated from the fields;
and the rule that fills ``"auto"`` settings from the depth and the graph."""

from revgnn.config.adapt import GraphStats, adapt, adapt_model
from revgnn.config.build import build_model
from revgnn.config.data import DataConfig
from revgnn.config.fields import AUTO, setting, settings_of
from revgnn.config.model import DEEP, ModelConfig, PointModelConfig
from revgnn.config.optim import OptimConfig
from revgnn.config.recipe import Recipe, load_recipe, recipe_from_text, recipe_names
from revgnn.config.run import RunConfig
from revgnn.config.search import SearchConfig
from revgnn.config.train import TrainConfig

__all__ = [
    "AUTO",
    "DEEP",
    "DataConfig",
    "GraphStats",
    "ModelConfig",
    "OptimConfig",
    "PointModelConfig",
    "Recipe",
    "RunConfig",
    "SearchConfig",
    "TrainConfig",
    "adapt",
    "adapt_model",
    "build_model",
    "load_recipe",
    "recipe_from_text",
    "recipe_names",
    "setting",
    "settings_of",
]
