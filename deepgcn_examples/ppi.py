"""PPI multi-label node classification (micro-F1) on the given graphs.

The DeepGCNs' recipe: ResMRGCN-28 x 256 (conv mr), Adam 2e-3 (x0.8 every 20 epochs), dropout
0.2, one graph per step, 2000 epochs.

    python deepgcn_examples/ppi.py --root DATA --arch resgcn-28

Reversible form: ``--arch rev-resgcn-28`` (or any depth: ``rev-resgcn-151``). Every flag of
``revgnn deepgcn`` overrides the recipe.
"""

from __future__ import annotations

import sys

from example_cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "ppi", __doc__.splitlines()[0]))
