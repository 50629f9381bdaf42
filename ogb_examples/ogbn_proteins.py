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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbn-proteins", __doc__, "revgnn-deep"))
