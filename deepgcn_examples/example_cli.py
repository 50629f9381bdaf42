"""What the DeepGCN examples share: the ``revgnn deepgcn`` command with the dataset fixed.

Each example is the CLI (:mod:`revgnn.cli.deepgcn`: its flags, the dataset's shipped recipe
``deepgcn/<dataset>``, the model, :func:`revgnn.train` / :func:`revgnn.training.leaderboard`,
printing and JSON); the architecture is ``--arch`` (``resgcn-28``, ``resgcn-56``,
``densegcn-28``, ``plaingcn-28``, ``rev-resgcn-<layers>``, ...) and any flag overrides the
recipe.
"""

from __future__ import annotations

import revgnn.cli.deepgcn as cli
from revgnn.cli.errors import ArgumentParser, report_user_errors

__all__ = ["main"]


def main(argv: list[str] | None, dataset: str, doc: str) -> int:
    """Run ``revgnn deepgcn --dataset <dataset>`` with the flags of ``argv``."""
    parser = ArgumentParser(description=doc)
    cli.add_arguments(parser, dataset)
    args = parser.parse_args(argv)
    chosen = getattr(args, "cfg__data.dataset", dataset)
    if chosen != dataset:
        parser.error(f"this example trains {dataset}; use revgnn deepgcn --dataset {chosen}")
    setattr(args, "cfg__data.dataset", dataset)
    return report_user_errors(dataset, lambda: cli.run(args), parser.field_flags(args))
