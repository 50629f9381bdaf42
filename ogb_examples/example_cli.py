"""What the OGB node examples share: ``--preset NAME`` on top of the ``revgnn train`` command.

Each example is the CLI (:mod:`revgnn.commands.train`: its flags, dataset loading, model
building, :func:`revgnn.train.train` / :func:`revgnn.train.leaderboard`, printing and JSON)
with the dataset fixed and a table of presets. A preset sets the defaults of the CLI's flags;
any flag given on the command line overrides it.
"""

from __future__ import annotations

import argparse
from typing import Any

from torch import nn

import revgnn.commands.train as cli
from revgnn.datasets import NodeDataset


def make_parser(
    dataset: str, presets: dict[str, dict[str, Any]], doc: str
) -> argparse.ArgumentParser:
    """The CLI's parser, ``--dataset`` fixed to ``dataset``, plus ``--preset``."""
    parser = argparse.ArgumentParser(description=doc)
    cli.add_arguments(parser)
    parser.epilog = "Presets (flag defaults; any flag overrides): " + "; ".join(
        f"{name}: {preset}" for name, preset in presets.items()
    )
    ex = parser.add_argument_group("example")
    ex.add_argument("--preset", choices=tuple(presets), default=next(iter(presets)))
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


def build(args: argparse.Namespace, dataset: NodeDataset) -> nn.Module:
    """The model ``revgnn train`` would build for ``args`` on ``dataset``."""
    settings = cli.resolve(args)
    return cli.build_model(settings["model"], dataset, settings)


def main(argv: list[str] | None, dataset: str, presets: dict[str, dict[str, Any]], doc: str) -> int:
    """Run ``revgnn train`` on ``dataset`` with the preset chosen in ``argv``."""
    args = parse(argv, dataset, presets, doc)
    print(f"preset {args.preset}: {presets[args.preset]}")
    return cli.run(args)
