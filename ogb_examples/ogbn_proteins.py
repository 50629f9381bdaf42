"""ogbn-proteins with the recipes of RevGNN (Li et al., ICML 2021) and DeeperGCN (Li et al. 2020).

Node features are the sum of the incident edges' 8-d features plus a species one-hot
(``--no-species`` drops it); edge features go through one shared edge encoder; training on 10
random node parts redrawn every epoch, evaluation averaged over random partitions into 5 parts
(3 views); Adam, lr 1e-3, gradient-norm clip 1.0; the best-valid epoch is reported.

    python ogb_examples/ogbn_proteins.py --root DATA --preset revgnn-deep --runs 10

Every flag of ``revgnn train`` overrides the preset (``--layers 28 --epochs 50`` ...).
"""

from __future__ import annotations

import sys

from example_cli import main

_RECIPE = {
    "species": True,
    "conv": "gen",
    "groups": 2,
    "mlp_layers": 2,
    "input_dropout": 0.0,
    "lr": 1e-3,
    "weight_decay": 0.0,
    "weight_decay_on": "",
    "branch_gate": "none",  # the papers' blocks have no gate
    "grad_clip": 1.0,
    "partition": "random",
    "parts": 10,
    "eval_parts": 5,
    "eval_views": 3,
}
_REV = {**_RECIPE, "model": "revgnn", "aggr": "max", "learn_t": False, "norm": "batch"}

PRESETS = {
    # RevGNN paper, Table 1: 1001 x 80, 2 groups, dropout 0.1; 20.03M parameters.
    "revgnn-deep": {**_REV, "hidden": 80, "layers": 1001, "dropout": 0.1, "epochs": 2000},
    # RevGNN-Wide: 448 x 224, dropout 0.2; 68.47M parameters.
    "revgnn-wide": {**_REV, "hidden": 224, "layers": 448, "dropout": 0.2, "epochs": 2000},
    # WT-RevGNN-80: one block's weights for 112 layers (the authors' code was never released).
    "wt-revgnn": {
        **_REV,
        "model": "wt-revgnn",
        "hidden": 80,
        "layers": 112,
        "dropout": 0.1,
        "epochs": 2000,
    },
    # DEQ-GNN-64: the equilibrium of one weight-tied reversible block (LayerNorm: see DEQGNN);
    # --layers is the depth of the (unused by default) unrolled warm-up network.
    "deq-gnn": {
        **_REV,
        "model": "deq-gnn",
        "hidden": 64,
        "layers": 112,
        "norm": "layer",
        "dropout": 0.1,
        "epochs": 2000,
    },
    # DeeperGCN ResGCN+ 112 x 64, learnable softmax, LayerNorm, dropout 0.1; 2.37M parameters.
    "deeper-gcn": {
        **_RECIPE,
        "model": "deeper-gcn",
        "hidden": 64,
        "layers": 112,
        "aggr": "softmax",
        "learn_t": True,
        "norm": "layer",
        "dropout": 0.1,
        "epochs": 1000,
    },
}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbn-proteins", PRESETS, __doc__))
