"""ogbn-arxiv, full batch, with the recipes of RevGAT (Li et al., ICML 2021) and DeeperGCN.

The graph is symmetrised. RevGAT: 5 reversible GAT blocks, 2 groups, 3 heads of 256 channels
each (768 channels in the residual stream, as in the authors' code), BatchNorm, dropout 0.75,
input dropout 0.25, Adam lr 2e-3. Not reproduced here: RevGAT's label-as-input trick, edge
dropout 0.3 and self-knowledge-distillation (74.26 with it).

    python ogb_examples/ogbn_arxiv.py --root DATA --preset revgat --runs 10

Every flag of ``revgnn train`` overrides the preset.
"""

from __future__ import annotations

import sys

from example_cli import main

_FULL = {
    "groups": 2,
    "conv": "gen",
    "input_dropout": 0.0,
    "weight_decay": 0.0,
    "weight_decay_on": "",
    "branch_gate": "none",  # the papers' blocks have no gate
    "grad_clip": 1.0,
    "partition": "full",
    "parts": 1,
    "eval_parts": 1,
    "eval_views": 1,
}

PRESETS = {
    "revgat": {
        **_FULL,
        "model": "revgnn",
        "conv": "gat",
        "heads": 3,
        "hidden": 768,
        "layers": 5,
        "norm": "batch",
        "dropout": 0.75,
        "input_dropout": 0.25,
        "lr": 2e-3,
        "epochs": 2000,
    },
    # DeeperGCN: ResGCN+ 28 x 128, softmax_sg with t = 0.1 (not learned), BatchNorm.
    "deeper-gcn": {
        **_FULL,
        "model": "deeper-gcn",
        "hidden": 128,
        "layers": 28,
        "aggr": "softmax_sg",
        "t": 0.1,
        "learn_t": False,
        "mlp_layers": 1,
        "norm": "batch",
        "dropout": 0.5,
        "lr": 0.01,
        "epochs": 500,
    },
}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbn-arxiv", PRESETS, __doc__))
