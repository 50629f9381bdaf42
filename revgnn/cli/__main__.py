import sys

from revgnn.cli import main

sys.exit(main())
