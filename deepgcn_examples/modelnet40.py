"""ModelNet40 classification (1024 points).

The DeepGCNs' recipe: ResGCN-28, k 9, 64 channels, stochastic dilation, SGD 0.1 cosine to 1e-3,
weight decay 1e-4, label smoothing 0.2, scale/shift/shuffle augmentation, batch 32, 400 epochs.

    python deepgcn_examples/modelnet40.py --root DATA --arch resgcn-28

Reversible form: ``--arch rev-resgcn-28`` (or any depth: ``rev-resgcn-151``). Every flag of
``revgnn deepgcn`` overrides the recipe.
"""

from __future__ import annotations

import sys

from example_cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "modelnet40", __doc__.splitlines()[0]))
