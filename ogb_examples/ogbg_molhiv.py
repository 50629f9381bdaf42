"""ogbg-molhiv (graph-level, ROC-AUC) with DeeperGCN's recipe (Li et al. 2020).

OGB's ``PygGraphPropPredDataset`` and ``Evaluator``; ``AtomEncoder`` / ``BondEncoder``; ResGCN+
7 x 256 with a learned softmax aggregation, BatchNorm, dropout 0.2, mean pooling, batches of
32 molecules, Adam lr 0.01, 300 epochs, best-valid epoch (published 78.58 ± 1.17 over 10 seeds).
``--preset revgnn`` runs the same recipe with a grouped reversible RevGNN body (no published
figure). This is ``revgnn train --config ogbg-molhiv/<preset>``: the one loop of revgnn
(:class:`revgnn.training.GraphTask`), so AMP, checkpoints and ``--resume``, the JSONL log,
``--runs`` and DDP work as for every dataset.

    python ogb_examples/ogbg_molhiv.py --root DATA --preset deeper-gcn --runs 10
    python ogb_examples/ogbg_molhiv.py --root DATA --amp bf16 --checkpoint c.pt --resume
    python ogb_examples/ogbg_molhiv.py --root DATA --train-subset 512 --epochs 2  # quick

``DATA`` holds ``ogbg_molhiv/`` (``raw/``, ``split/scaffold/``, ``RELEASE_v1.txt``);
``processed/`` is written there on the first run.
"""

from __future__ import annotations

import sys

from example_cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbg-molhiv", __doc__, "deeper-gcn"))
