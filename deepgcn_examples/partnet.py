"""PartNet part segmentation, one category at level 3 (e.g. Chair).

The DeepGCNs' recipe: ResGCN-28, k 9, 64 channels, batch 6, Adam 5e-3 (x0.9 every 50 epochs),
500 epochs.

    python deepgcn_examples/partnet.py --root DATA --category Chair --arch resgcn-28

Reversible form: ``--arch rev-resgcn-28`` (or any depth: ``rev-resgcn-151``). Every flag of
``revgnn deepgcn`` overrides the recipe.
"""

from __future__ import annotations

import sys

from example_cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "partnet", __doc__.splitlines()[0]))
