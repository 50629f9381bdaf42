"""How the command line reports a user's mistake: one line on stderr, exit status 2."""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import os.path as osp
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from revgnn.training.checkpoint import CheckpointError
from revgnn.training.interrupted import TrainingInterrupted
from revgnn.utils.registry import normalize

__all__ = [
    "INTERRUPTED", "USER_ERRORS", "ArgumentParser", "one_line_warnings", "report_user_errors",
    "with_flags",
]  # fmt: skip

#: What a user's input can raise: a wrong value, a missing or unusable file, a training run
#: that lost its weights. Set REVGNN_TRACEBACK=1 to see the traceback as well.
USER_ERRORS = (
    ValueError,
    TypeError,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
    CheckpointError,
    FloatingPointError,
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``prog: error: ... (see prog --help)``), and
    for a flag it does not know, the closest one it does (``--layerz: did you mean
    --layers?``). A flag is given in full: argparse's prefix matching would take
    ``--layer 112`` for ``--layers`` today and refuse it as ambiguous once another flag
    starts the same way, breaking scripts that worked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self.unknown(extras)
        return parsed

    def unknown(self, extras: list[str]) -> NoReturn:
        """Refuse the arguments ``extras`` that parsing left over, suggesting flags: the flag
        whose setting ``extras`` names in another spelling (``--num_parts``, the field of
        ``--parts``; ``--input_dropout``), else the closest flag."""
        flags = [f for action in self._actions for f in action.option_strings]
        aliases = self._aliases()
        hints = []
        for flag in (arg.split("=", 1)[0] for arg in extras if arg.startswith("-")):
            close = aliases.get(normalize(flag)) or next(
                iter(difflib.get_close_matches(flag, flags, n=1, cutoff=0.7)), None
            )
            if close:
                hints.append(f"{flag}: did you mean {close}?")
        self.error(f"unrecognized arguments: {' '.join(extras)}" + "".join(f"; {h}" for h in hints))

    def field_flags(self, args: argparse.Namespace) -> dict[str, tuple[str, Any]]:
        """``field -> (flag, value in args)`` for the settings whose flag is not their field's
        name in dashes (``num_layers -> --layers``): the library's errors name the field."""
        out = {}
        for action in self._actions:
            longs = [f for f in action.option_strings if f.startswith("--")]
            field = action.dest.rsplit(".", 1)[-1]
            if longs and "--" + field.replace("_", "-") not in longs and hasattr(args, action.dest):
                out.setdefault(field, (longs[0], getattr(args, action.dest)))
        return out

    def _aliases(self) -> dict[str, str]:
        """``normalize(spelling) -> flag`` for each flag's own spellings and its setting's
        field name (the last part of its ``dest``)."""
        out = {}
        for action in self._actions:
            longs = [f for f in action.option_strings if f.startswith("--")]
            if longs:
                for spelling in (*longs, action.dest.rsplit(".", 1)[-1]):
                    out.setdefault(normalize(spelling), longs[0])
        return out


_PACKAGE = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _internal(e: BaseException) -> bool:
    """A ValueError / TypeError raised outside revgnn's own code (by torch, numpy, Python on
    revgnn's behalf) is a bug to report with its traceback, not a user's mistake: revgnn
    raises its user errors itself, with a message saying what to change."""
    if type(e) not in (ValueError, TypeError):
        return False
    tb, last = e.__traceback__, None
    while tb is not None:
        last, tb = tb.tb_frame.f_code.co_filename, tb.tb_next
    return last is not None and not osp.abspath(last).startswith(_PACKAGE + os.sep)


#: The exit status of a command stopped by Ctrl-C (128 + SIGINT, as the shell reports it).
INTERRUPTED = 130


def with_flags(message: str, flags: dict[str, tuple[str, Any]]) -> str:
    """``message`` with the flags of the settings it names as ``field=value`` appended, where
    the value is the run's (``num_layers=0 must be at least 1; on the command line num_layers
    is --layers``; a field named with another value, a graph's ``num_nodes=2708`` next to a
    ``--nodes`` flag, is not a setting)."""
    hints = []
    for field, value in re.findall(r"(?<![\w.-])([A-Za-z_]\w*)=('[^']*'|[^\s,;)\]]+)", message):
        flag, setting = flags.get(field, (None, None))
        if flag and value in (str(setting), repr(setting)) and field not in hints:
            hints.append(field)
    named = ", ".join(f"{field} is {flags[field][0]}" for field in hints)
    return message + (f"; on the command line {named}" if named else "")


@contextlib.contextmanager
def one_line_warnings(prog: str) -> Iterator[None]:
    """Warnings shown as the errors are, one line naming ``prog`` (``revgnn train: warning:
    ...``; a category other than ``UserWarning`` named before the message). Without it a
    warning the library attributes to the user's line names the console script's line
    (``.../bin/revgnn:8: UserWarning: ...``) and repeats its source, ``sys.exit(main())``."""

    def one_line(message: Any, category: type[Warning], *_: Any, **__: Any) -> str:
        kind = "" if category is UserWarning else f"{category.__name__}: "
        return f"{prog}: warning: {kind}{' '.join(str(message).split())}\n"

    before = warnings.formatwarning
    warnings.formatwarning = one_line  # type: ignore[assignment]
    try:
        yield
    finally:
        warnings.formatwarning = before


def report_user_errors(
    prog: str, run: Callable[[], int], flags: dict[str, tuple[str, Any]] | None = None
) -> int:
    """``run()``, with a user error printed as one line naming ``prog`` and exit status 2, and
    Ctrl-C as one line (a training run's says where it stopped and how to resume) and exit
    status :data:`INTERRUPTED`; a training run stopped by ``SIGTERM`` exits with 143 (128 +
    the signal's number), as a process killed by it would. ``flags``
    (:meth:`ArgumentParser.field_flags`) names the flags of the settings an error names."""
    try:
        return run()
    except KeyboardInterrupt as e:
        if os.environ.get("REVGNN_TRACEBACK"):
            raise
        print(f"\n{prog}: {' '.join(str(e).split()) or 'interrupted'}", file=sys.stderr)
        return 128 + e.signum if isinstance(e, TrainingInterrupted) else INTERRUPTED
    except USER_ERRORS as e:
        if os.environ.get("REVGNN_TRACEBACK") or _internal(e):
            raise
        message = with_flags(" ".join(str(e).split()) or type(e).__name__, flags or {})
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
