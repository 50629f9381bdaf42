"""Subcommands of the ``revgnn`` command line (see :mod:`revgnn.cli`)."""
