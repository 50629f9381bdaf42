"""``revgnn train``: train a node model (or a molecule model) with :func:`revgnn.train`.

With no arguments: a deep RevGNN on the Cora shipped inside the package (public Planetoid
split), one seed, ending with the test accuracy and the peak memory. Every flag is a field of
the recipe (:mod:`revgnn.config`): unset flags take the ``--config`` recipe's value, else the
library's default, with the ``auto`` settings filled in from the depth and the graph; a flag
that the chosen model, conv, optimiser, schedule or dataset does not use is an error naming
both. ``--print-config`` prints the resolved recipe; ``--json`` records it with the results.

Launched by ``torchrun --nproc_per_node=P revgnn train ...`` the training is data-parallel
(see :func:`revgnn.train`); rank 0 alone prints and writes ``--json`` / ``--markdown`` /
``--log`` / ``--checkpoint``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from revgnn.cli.common import HelpFormatter, add_output_arguments, run_experiment
from revgnn.config.data import DataConfig
from revgnn.config.flags import add_config_flags, recipe_from_args
from revgnn.config.model import ModelConfig
from revgnn.config.optim import OptimConfig
from revgnn.config.recipe import Recipe, load_recipe
from revgnn.config.run import RunConfig
from revgnn.datasets.registry import DATASETS
from revgnn.profiling.step_peak import step_peak
from revgnn.training.experiment import Experiment
from revgnn.training.loop import resolve_device
from revgnn.utils.units import format_bytes

__all__ = ["add_arguments", "run"]

#: The datasets a flag may name, for its help.
NAMES = {"data.dataset": DATASETS.names}

SECTIONS = {"model": ModelConfig, "optim": OptimConfig, "data": DataConfig, "run": RunConfig}


def add_arguments(
    parser: argparse.ArgumentParser, default_recipe: str | None = None, shown: str | None = None
) -> None:
    """Every flag of ``revgnn train``; ``default_recipe`` is the ``--config`` used when none
    is given, and ``shown`` the recipe whose values the help gives as defaults where another
    argument picks the recipe (an OGB example's default ``--preset``)."""
    parser.formatter_class = HelpFormatter
    add_config_flags(
        parser, SECTIONS, conv_options=True, default_recipe=default_recipe, names_of=NAMES,
        shown=load_recipe(shown, explicit=False) if shown is not None else None,
    )  # fmt: skip
    add_output_arguments(parser)
    parser.add_argument(
        "--no-compare",
        action="store_true",
        help="skip measuring one step of the same weights run non-reversibly at the end",
    )


def _check_world_size(recipe: Recipe, world: int) -> None:
    # Under torchrun each process takes every world-th batch of an epoch: say so before
    # the data and model are built on every rank.
    data = recipe.data
    if world > 1 and (data.partition == "full" or data.num_parts % world != 0):
        raise ValueError(
            f"--partition {data.partition} --parts {data.num_parts} cannot be shared by "
            f"{world} processes: use --partition random or metis with --parts a multiple of "
            f"{world} (full-batch training does not split)"
        )


def run(args: argparse.Namespace, base: Recipe | None = None) -> int:
    """Train as the flags say, over ``base`` (default: the library's defaults)."""
    recipe = recipe_from_args(args, base)
    _check_world_size(recipe, int(os.environ.get("WORLD_SIZE", "1")))
    return run_experiment(args, recipe, after=None if args.no_compare else _compare_reversible)


def _compare_reversible(exp: Experiment, model: Any, final: dict[str, Any], say: Any) -> None:
    """One training step of the trained model, reversibly and with the same weights run
    non-reversibly: what reversibility saves, measured the same way for both. A DEQ model is
    compared with its cell unrolled (``num_layers`` applications, ordinary autograd)."""
    deq = getattr(model, "unrolled", None) is False  # any DEQ cell, reversible or res+
    if exp.kind != "node" or not (deq or getattr(model, "reversible", False)):
        return
    cfg = exp.train_config
    kw = {"device": resolve_device(cfg.device), "amp": cfg.amp}
    rev = step_peak(model, exp.task, **kw)
    if deq:
        # A DEQ's memory is that of one application of its cell, whatever the solver's
        # iterations: against the same cell unrolled with ordinary autograd.
        plain = step_peak(model, exp.task, reversible=False, unrolled=True, **kw)
        say(
            f"peak memory of one training step: {format_bytes(rev)} solving for the fixed "
            f"point (implicit gradients), {format_bytes(plain)} for the same weights unrolled "
            f"{model.num_layers} times with ordinary autograd (unrolled=True, "
            f"reversible=False): {plain / rev:.1f}x"
        )
        final["memory"] = {"step_peak_bytes": rev, "unrolled_step_peak_bytes": plain}
        return
    plain = step_peak(model, exp.task, reversible=False, **kw)
    say(
        f"peak memory of one training step at {model.num_layers} layers: "
        f"{format_bytes(rev)} reversible, {format_bytes(plain)} for the same weights run "
        f"non-reversibly (reversible=False): {plain / rev:.1f}x"
    )
    final["memory"] = {"step_peak_bytes": rev, "non_reversible_step_peak_bytes": plain}
