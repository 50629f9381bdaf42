"""ogbg-molhiv (graph-level, ROC-AUC) with DeeperGCN's recipe (Li et al. 2020).

OGB's ``PygGraphPropPredDataset`` and ``Evaluator``; ``AtomEncoder`` / ``BondEncoder``; ResGCN+
7 x 256 with a learned softmax aggregation, BatchNorm, dropout 0.2, mean pooling, batches of
32 molecules, Adam lr 0.01, 300 epochs, best-valid epoch (published 78.58 ± 1.17 over 10 seeds).
``--preset revgnn`` runs the same recipe with a grouped reversible RevGNN body (no published
figure). Training is :func:`revgnn.graph_train.train_graphs`.

    python ogb_examples/ogbg_molhiv.py --root DATA --preset deeper-gcn --runs 10

``DATA`` holds ``ogbg_molhiv/`` (``raw/``, ``split/scaffold/``, ``RELEASE_v1.txt``);
``processed/`` is written there on the first run.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch
from torch import nn

from revgnn.graph_train import GraphPredictor, graph_leaderboard, load_ogbg
from revgnn.models import DeeperGCN, RevGNN
from revgnn.train import TrainConfig, leaderboard_markdown

NAME = "ogbg-molhiv"
NUM_ATOM_FEATURES, NUM_BOND_FEATURES = 9, 3
_RECIPE = {
    "hidden": 256,
    "layers": 7,
    "aggr": "softmax",
    "learn_t": True,
    "norm": "batch",
    "dropout": 0.2,
    "mlp_layers": 1,
    "lr": 0.01,
    "epochs": 300,
    "batch_size": 32,
}
PRESETS = {
    "deeper-gcn": {**_RECIPE, "model": "deeper-gcn"},
    "revgnn": {**_RECIPE, "model": "revgnn"},
}


def build(s: argparse.Namespace, num_tasks: int) -> nn.Module:
    """The preset's model (DeeperGCN or RevGNN body) as a molecule model."""
    common = {
        "edge_dim": NUM_BOND_FEATURES,
        "aggr": s.aggr,
        "learn_t": s.learn_t,
        "mlp_layers": s.mlp_layers,
        "norm": s.norm,
        "dropout": s.dropout,
    }
    if s.model == "deeper-gcn":  # every layer reads the one BondEncoder's output directly
        body = DeeperGCN(
            NUM_ATOM_FEATURES, s.hidden, num_tasks, s.layers, encode_edge=False, **common
        )
    else:
        body = RevGNN(NUM_ATOM_FEATURES, s.hidden, num_tasks, s.layers, **common)
    return GraphPredictor(body, s.hidden)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Presets: " + "; ".join(f"{k}: {v}" for k, v in PRESETS.items()),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--root", required=True, help="folder holding ogbg_molhiv/")
    p.add_argument("--preset", choices=tuple(PRESETS), default="deeper-gcn")
    p.add_argument("--model", choices=("deeper-gcn", "revgnn"))
    p.add_argument("--hidden", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--aggr")
    p.add_argument("--learn-t", action=argparse.BooleanOptionalAction)
    p.add_argument("--norm")
    p.add_argument("--dropout", type=float)
    p.add_argument("--mlp-layers", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--train-subset", type=int, default=0, help="train on this many graphs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", help="write the summary here")
    p.add_argument("--no-progress", action="store_true")
    known, _ = p.parse_known_args(argv)
    p.set_defaults(**PRESETS[known.preset])
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    s = parse(argv)
    dataset, split = load_ogbg(NAME, s.root)
    if s.train_subset:  # a seeded subset of the training molecules (quick runs)
        g = torch.Generator().manual_seed(s.seed)
        split["train"] = split["train"][torch.randperm(len(split["train"]), generator=g)]
        split["train"] = split["train"][: s.train_subset]
    print(f"preset {s.preset}: {PRESETS[s.preset]}")
    print(f"model: {build(s, dataset.num_tasks)!r}")
    config = TrainConfig(
        epochs=s.epochs,
        lr=s.lr,
        grad_clip=None,
        seed=s.seed,
        device=s.device,
        progress=not s.no_progress,
    )
    summary = graph_leaderboard(
        lambda: build(s, dataset.num_tasks),
        dataset,
        split,
        config,
        s.runs,
        batch_size=s.batch_size,
        name=s.model,
    )
    summary["split"] = f"OGB scaffold split, {len(split['train'])} training graphs"
    print(leaderboard_markdown(summary), end="")
    if s.json:
        with open(s.json, "w") as f:
            json.dump({**summary, "settings": vars(s)}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
