"""What the OGB examples share: ``revgnn train`` with the dataset fixed and ``--preset NAME``.

Each example is the ``revgnn train`` command (:mod:`revgnn.cli.train`: its flags, loading,
the model, :func:`revgnn.train` / :func:`revgnn.training.leaderboard`, printing and JSON)
over one of the library's shipped recipes for its dataset (``--preset NAME`` is ``--config
<dataset>/NAME``). Any flag overrides the recipe, and a flag the preset's model does not use
is an error.
"""

from __future__ import annotations

import argparse

import revgnn.cli.train as cli
from revgnn.cli.errors import ArgumentParser, report_user_errors
from revgnn.config.recipe import recipe_names
from revgnn.utils.registry import normalize, spelled

__all__ = ["main", "parse", "presets"]


def presets(dataset: str) -> list[str]:
    """The shipped recipes of ``dataset``, the paper's first."""
    return [n.split("/", 1)[1] for n in recipe_names() if n.startswith(f"{dataset}/")]


def _parser(dataset: str, doc: str, default: str) -> ArgumentParser:
    parser = ArgumentParser(
        description=doc,
        formatter_class=cli.HelpFormatter,
        epilog=f"The defaults shown are those of the default preset, {dataset}/{default}; "
        "another --preset brings its own (--print-config shows it).",
    )
    parser.add_argument(
        "--preset",
        choices=presets(dataset),
        type=spelled(presets(dataset)),  # DeeperGCN: deeper-gcn
        default=default,
        help="the paper recipe",
    )
    cli.add_arguments(parser, shown=f"{dataset}/{default}")
    return parser


def _parsed(parser: ArgumentParser, argv: list[str] | None, dataset: str) -> argparse.Namespace:
    args = parser.parse_args(argv)
    chosen = getattr(args, "cfg__data.dataset", dataset)
    if normalize(chosen) != normalize(dataset):
        parser.error(f"this example trains {dataset}; use revgnn train --dataset {chosen}")
    if args.config is None:
        args.config = f"{dataset}/{args.preset}"
    elif "--preset" in (argv or []):
        parser.error("give --preset or --config, not both")
    return args


def parse(argv: list[str] | None, dataset: str, doc: str, default: str) -> argparse.Namespace:
    """``revgnn train``'s flags plus ``--preset``, the dataset fixed to ``dataset``."""
    return _parsed(_parser(dataset, doc, default), argv, dataset)


def main(argv: list[str] | None, dataset: str, doc: str, default: str) -> int:
    """Run ``revgnn train`` on ``dataset`` with the preset chosen in ``argv``."""
    parser = _parser(dataset, doc, default)
    args = _parsed(parser, argv, dataset)
    print(f"recipe {args.config}")
    return report_user_errors(dataset, lambda: cli.run(args), parser.field_flags(args))
