"""The ``revgnn`` command line: a thin dispatcher over its subcommands.

Each subcommand lives in ``revgnn/cli/<name>.py`` and exposes ``add_arguments(parser)`` and
``run(args) -> int``; it is imported only when used, so ``revgnn --help`` stays fast. A user's
mistake (a wrong value, a missing or unusable file) is one line on stderr and exit status 2,
and a warning one line too.
"""

from __future__ import annotations

import importlib
import os
import sys

from revgnn.cli.errors import ArgumentParser, one_line_warnings, report_user_errors

__all__ = ["COMMANDS", "main"]

COMMANDS = {
    "train": "train a model (default: a deep RevGNN on the bundled Cora)",
    "deepgcn": "train a DeepGCN on point clouds or PPI (default: ResGCN-28 on a synthetic set)",
    "search": "search a GCN cell: SGAS (criterion 1, 2) or DARTS, LC-NAS latency target",
    "profile": "measure memory and time of models versus depth, one process per configuration",
    "plan": "predict the deepest / widest model that fits a memory budget",
}


def _version() -> str:
    # The installed distribution's, without importing the package (and torch) for --help.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("revgnn")
    except PackageNotFoundError:
        return "(not installed)"


def _module(name: str):
    return importlib.import_module(f"revgnn.cli.{name}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = ArgumentParser(prog="revgnn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"revgnn {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = parser
    for name, help_text in COMMANDS.items():
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        if argv[:1] == [name]:
            _module(name).add_arguments(cmd)
            cmd.add_argument(
                "--no-compile",
                action="store_true",
                help="run every kernel eagerly instead of compiling it (as REVGNN_COMPILE=0)",
            )
            chosen = cmd
    args, extras = parser.parse_known_args(argv)
    if extras:  # named by the command's own parser, with its flags as suggestions
        chosen.unknown(extras)
    if args.no_compile:
        from revgnn.utils.compile import set_compile

        os.environ["REVGNN_COMPILE"] = "0"  # and in the processes a command starts
        set_compile(False)
    prog = f"revgnn {args.command}"
    with one_line_warnings(prog):
        return report_user_errors(
            prog, lambda: _module(args.command).run(args), chosen.field_flags(args)
        )
