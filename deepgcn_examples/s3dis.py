"""S3DIS semantic segmentation (13 classes, Area 5 held out).

The DeepGCNs' recipe: ResGCN-28, k 16, 64 channels, stochastic dilation 0.2, dropout 0.3, batch
16, Adam 1e-3 halved every 20 epochs, 100 epochs.

    python deepgcn_examples/s3dis.py --root DATA --arch resgcn-28 --test-area 5
    python deepgcn_examples/s3dis.py --root DATA --six-fold   # one run per held-out area

Reversible form: ``--arch rev-resgcn-28`` (or any depth: ``rev-resgcn-151``). Every flag of
``revgnn deepgcn`` overrides the recipe.
"""

from __future__ import annotations

import sys

from example_cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "s3dis", __doc__.splitlines()[0]))
