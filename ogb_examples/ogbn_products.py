"""ogbn-products with the recipes of RevGNN (Li et al., ICML 2021) and DeeperGCN.

RevGNN-112: 112 reversible GraphSAGE blocks of 160 channels, 2 groups, trained on 10 random
node parts redrawn every epoch (``revgnn-112``) or on METIS clusters (``revgnn-112-cluster``,
pymetis); inference averaged over partitions into 10 parts. DeeperGCN: ResGCN+ 14 x 128 with a
learned softmax, 10 parts.

    python ogb_examples/ogbn_products.py --root DATA --preset revgnn-112 --runs 10

Every flag of ``revgnn train`` overrides the preset.
"""

from __future__ import annotations

import sys

from example_cli import main

_PARTS = {
    "groups": 2,
    "input_dropout": 0.0,
    "weight_decay": 0.0,
    "weight_decay_on": "",
    "branch_gate": "none",  # the papers' blocks have no gate
    "grad_clip": 1.0,
    "partition": "random",
    "parts": 10,
    "eval_parts": 10,
    "eval_views": 1,
}
_REV = {
    **_PARTS,
    "model": "revgnn",
    "conv": "sage",
    "hidden": 160,
    "layers": 112,
    "norm": "batch",
    "dropout": 0.5,
    "lr": 1e-3,
    "epochs": 1000,
}

PRESETS = {
    "revgnn-112": _REV,
    "revgnn-112-cluster": {**_REV, "partition": "metis"},
    "deeper-gcn": {
        **_PARTS,
        "model": "deeper-gcn",
        "hidden": 128,
        "layers": 14,
        "aggr": "softmax",
        "learn_t": True,
        "mlp_layers": 1,
        "norm": "batch",
        "dropout": 0.5,
        "lr": 0.01,
        "epochs": 1000,
    },
}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbn-products", PRESETS, __doc__))
