"""``python -m revgnn``: the ``revgnn`` command line (as ``python -m revgnn.cli``)."""

import sys

from revgnn.cli import main

sys.exit(main())
