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

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ogbn-arxiv", __doc__, "revgat"))
