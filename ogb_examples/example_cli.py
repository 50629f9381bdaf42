"""What the OGB node examples share: ``--preset NAME`` on top of the ``revgnn train`` command.

Each example is the CLI (:mod:`revgnn.cli.train`: its flags, dataset loading, model building,
:func:`revgnn.train` / :func:`revgnn.training.leaderboard`, printing and JSON) with the dataset
fixed and a table of presets. A preset takes the place of the dataset's defaults; any flag
given on the command line overrides it, and a flag the preset's model does not use is an
error.
"""

from __future__ import annotations

import argparse
from typing import Any

from torch import nn

import revgnn.cli.train as cli
from revgnn.cli.errors import ArgumentParser, report_user_errors
from revgnn.datasets import NodeDataset


def make_parser(dataset: str, presets: dict[str, dict[str, Any]], doc: str) -> ArgumentParser:
    """The CLI's parser with ``--dataset`` fixed to ``dataset``, plus ``--preset``."""
    parser = ArgumentParser(description=doc)
    cli.add_arguments(parser, dataset=dataset)
    parser.epilog = "Presets (flag defaults; any flag overrides): " + "; ".join(
        f"{name}: {preset}" for name, preset in presets.items()
    )
    parser.add_argument_group("example").add_argument(
        "--preset", choices=tuple(presets), default=next(iter(presets))
    )
    return parser


def parse(
    argv: list[str] | None, dataset: str, presets: dict[str, dict[str, Any]], doc: str
) -> argparse.Namespace:
    """Parse ``argv``; ``args.preset_settings`` is the chosen preset."""
    args = make_parser(dataset, presets, doc).parse_args(argv)
    args.preset_settings = presets[args.preset]
    return args


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The effective settings: flags, else the preset, else ``revgnn train``'s defaults."""
    return cli.resolve(args, args.preset_settings)


def build(args: argparse.Namespace, dataset: NodeDataset) -> nn.Module:
    """The model ``revgnn train`` would build for ``args`` on ``dataset``."""
    s = settings(args)
    return cli.build_model(
        s["model"],
        dataset.num_features,
        dataset.num_classes,
        dataset.edge_dim,
        s,
        cli.explicit_flags(args),
    )


def main(argv: list[str] | None, dataset: str, presets: dict[str, dict[str, Any]], doc: str) -> int:
    """Run ``revgnn train`` on ``dataset`` with the preset chosen in ``argv``."""
    args = parse(argv, dataset, presets, doc)
    print(f"preset {args.preset}: {args.preset_settings}")
    return report_user_errors(dataset, lambda: cli.run(args, args.preset_settings))
