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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbn-products", __doc__, "revgnn-112"))
