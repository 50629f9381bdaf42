"""ogbg-molhiv (graph-level, ROC-AUC) with DeeperGCN's recipe (Li et al. 2020).

OGB's ``PygGraphPropPredDataset`` and ``Evaluator``; ``AtomEncoder`` / ``BondEncoder``; ResGCN+
7 x 256 with a learned softmax aggregation, BatchNorm, dropout 0.2, mean pooling, batches of
32 molecules, Adam lr 0.01, 300 epochs, best-valid epoch (published 78.58 ± 1.17 over 10 seeds).
``--preset revgnn`` runs the same recipe with a grouped reversible RevGNN body (no published
figure). Training is the one loop of revgnn (:class:`revgnn.training.GraphTask`), so AMP,
checkpoints and ``--resume``, the JSONL log, ``--runs`` and DDP work as in ``revgnn train``.

    python ogb_examples/ogbg_molhiv.py --root DATA --preset deeper-gcn --runs 10
    python ogb_examples/ogbg_molhiv.py --root DATA --amp bf16 --checkpoint c.pt --resume

``DATA`` holds ``ogbg_molhiv/`` (``raw/``, ``split/scaffold/``, ``RELEASE_v1.txt``);
``processed/`` is written there on the first run.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch
from torch import nn

import revgnn.cli.train as cli
from revgnn.cli.errors import ArgumentParser, report_user_errors
from revgnn.datasets import load_ogbg
from revgnn.models import GraphPredictor
from revgnn.training import GraphTask, leaderboard, leaderboard_markdown

NAME = "ogbg-molhiv"
NUM_ATOM_FEATURES, NUM_BOND_FEATURES = 9, 3
_RECIPE = {
    "hidden": 256,
    "layers": 7,
    "conv": "gen",
    "aggr": "softmax",
    "learn_t": True,
    "norm": "batch",
    "dropout": 0.2,
    "input_dropout": 0.0,
    "mlp_layers": 1,
    "lr": 0.01,
    "weight_decay": 0.0,
    "grad_clip": 0.0,
    "weight_decay_on": "",
    "branch_gate": "none",
    "epochs": 300,
    "batch_size": 32,
}
PRESETS = {
    "deeper-gcn": {**_RECIPE, "model": "deeper-gcn"},
    "revgnn": {**_RECIPE, "model": "revgnn"},
}
#: Every DeeperGCN layer reads the one BondEncoder's output directly (the authors' molhiv).
CONV_OPTIONS = {"encode_edge": False}


def build(s: dict[str, Any], num_tasks: int, explicit: frozenset[str] = frozenset()) -> nn.Module:
    """The preset's model (DeeperGCN or RevGNN body) as a molecule model."""
    body = cli.build_model(
        s["model"],
        NUM_ATOM_FEATURES,
        num_tasks,
        NUM_BOND_FEATURES,
        s,
        explicit,
        CONV_OPTIONS if s["model"] == "deeper-gcn" else None,
    )
    return GraphPredictor(body, s["hidden"])


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Presets: " + "; ".join(f"{k}: {v}" for k, v in PRESETS.items()),
        formatter_class=cli.HelpFormatter,
    )
    p.add_argument("--root", required=True, help="folder holding ogbg_molhiv/")
    p.add_argument("--preset", choices=tuple(PRESETS), default="deeper-gcn")
    p.add_argument("--batch-size", type=int, default=None, help="molecules per step")
    p.add_argument("--train-subset", type=int, default=0, help="train on this many graphs")
    cli.add_model_arguments(p)
    cli.add_training_arguments(p)
    args = p.parse_args(argv)
    args.dataset = NAME
    return args


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The effective settings: flags, else the preset, else ``revgnn train``'s defaults."""
    return cli.resolve(args, PRESETS[args.preset])


def run(args: argparse.Namespace) -> int:
    preset = PRESETS[args.preset]
    s = settings(args)
    config = cli.train_config(args, s)
    explicit = cli.explicit_flags(args)
    dataset, split = load_ogbg(NAME, args.root)
    if args.train_subset:  # a seeded subset of the training molecules (quick runs)
        g = torch.Generator().manual_seed(args.seed)
        split["train"] = split["train"][torch.randperm(len(split["train"]), generator=g)]
        split["train"] = split["train"][: args.train_subset]
    task = GraphTask(dataset, split, batch_size=args.batch_size or preset["batch_size"], name=NAME)
    print(f"preset {args.preset}: {preset}")
    print(task.describe())
    print(f"model: {build(s, dataset.num_tasks, explicit)!r}")
    summary = leaderboard(
        lambda: build(s, dataset.num_tasks, explicit),
        task,
        config,
        args.runs,
        name=s["model"],
    )
    table = leaderboard_markdown(summary)
    print(table, end="")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**summary, "settings": s}, f, indent=2)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return report_user_errors(NAME, lambda: run(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
