"""The ``revgnn`` command line: a thin dispatcher over :mod:`revgnn.commands`.

Each subcommand lives in ``revgnn/commands/<name>.py`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; it is imported only when used, so
``revgnn --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "train": "train a model (default: a RevGNN on the bundled Cora)",
    "profile": "measure memory and time of models versus depth, one process per configuration",
    "plan": "predict the deepest / widest model that fits a memory budget",
}


def _module(name: str):
    return importlib.import_module(f"revgnn.commands.{name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="revgnn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if argv[:1] == [name]:
            _module(name).add_arguments(cmd)
    args = parser.parse_args(argv)
    return _module(args.command).run(args)


if __name__ == "__main__":
    sys.exit(main())
