"""What the OGB node examples share: ``--preset NAME`` on top of the ``revgnn train`` command.

Each example is the CLI (:mod:`revgnn.commands.train`: its flags, dataset loading, model
building, :func:`revgnn.train.train` / :func:`revgnn.train.leaderboard`, printing and JSON)
with the dataset fixed and a table of presets. A preset sets the defaults of the CLI's flags;
any flag given on the command line overrides it.

Two constructor arguments have no CLI flag: ``--heads`` (RevGAT) and ``--t`` (the initial
softmax temperature, DeeperGCN's ``softmax_sg`` with ``t=0.1``). They are bound to the model
class that the CLI's :func:`~revgnn.commands.train.build_model` looks up, for the duration of
the run.
"""

from __future__ import annotations

import argparse
import functools
import inspect
from typing import Any
from unittest import mock

from torch import nn

import revgnn.commands.train as cli
from revgnn.datasets import NodeDataset

#: Constructor arguments the examples add to the CLI's flags.
EXTRA = ("heads", "t")


def make_parser(
    dataset: str, presets: dict[str, dict[str, Any]], doc: str
) -> argparse.ArgumentParser:
    """The CLI's parser, ``--dataset`` fixed to ``dataset``, plus ``--preset`` and extras."""
    parser = argparse.ArgumentParser(description=doc)
    cli.add_arguments(parser)
    parser.epilog = "Presets (flag defaults; any flag overrides): " + "; ".join(
        f"{name}: {preset}" for name, preset in presets.items()
    )
    ex = parser.add_argument_group("example")
    ex.add_argument("--preset", choices=tuple(presets), default=next(iter(presets)))
    ex.add_argument("--heads", type=int, default=None, help="GAT attention heads (RevGAT)")
    ex.add_argument("--t", type=float, default=None, help="initial softmax temperature")
    ex.add_argument(
        "--no-species", dest="species", action="store_false", help="proteins: no species one-hot"
    )
    parser.set_defaults(dataset=dataset)
    return parser


def parse(
    argv: list[str] | None, dataset: str, presets: dict[str, dict[str, Any]], doc: str
) -> argparse.Namespace:
    """Parse ``argv``: the chosen preset's values become the defaults of the flags."""
    parser = make_parser(dataset, presets, doc)
    known, _ = parser.parse_known_args(argv)
    parser.set_defaults(**presets[known.preset])
    args = parser.parse_args(argv)
    if args.dataset != dataset:
        parser.error(f"--dataset {args.dataset}: this example is for {dataset} only")
    return args


def _bound_class(args: argparse.Namespace):
    lookup = cli.model_class
    extra = {k: getattr(args, k) for k in EXTRA if getattr(args, k) is not None}

    def model_class(name: str) -> Any:
        cls = lookup(name)
        params = inspect.signature(cls).parameters
        bound = {k: v for k, v in extra.items() if k in params}
        return functools.partial(cls, **bound) if bound else cls

    return model_class


def build(args: argparse.Namespace, dataset: NodeDataset) -> nn.Module:
    """The model ``revgnn train`` would build for ``args`` (with the extras) on ``dataset``."""
    settings = cli.resolve(args)
    with mock.patch.object(cli, "model_class", _bound_class(args)):
        return cli.build_model(settings["model"], dataset, settings)


def main(argv: list[str] | None, dataset: str, presets: dict[str, dict[str, Any]], doc: str) -> int:
    """Run ``revgnn train`` on ``dataset`` with the preset chosen in ``argv``."""
    args = parse(argv, dataset, presets, doc)
    print(f"preset {args.preset}: {presets[args.preset]}")
    with mock.patch.object(cli, "model_class", _bound_class(args)):
        return cli.run(args)
