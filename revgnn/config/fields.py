"""Settings as dataclass fields: one default, one help line, one validation rule each.

:func:`setting` makes a dataclass field that carries its help text, its command-line flag name
and its bounds; :func:`validate` checks every field of a config against its annotation and
bounds (called by each config's ``__post_init__``), so a wrong value is refused with the
setting's name whether it came from Python, a YAML recipe or a flag.
"""

from __future__ import annotations

import dataclasses
import math
import os.path as osp
import typing
from collections.abc import Callable, Iterator
from typing import Any, Union

from revgnn.utils.registry import did_you_mean, resolve_name, spelled

__all__ = ["AUTO", "MAX_SEED", "Setting", "setting", "settings_of", "validate"]

#: The largest seed every generator takes (numpy's bound; torch takes 64 bits).
MAX_SEED = 2**32 - 1

#: The value of a setting that the library fills in from the graph or the depth (see
#: :mod:`revgnn.config.adapt`).
AUTO = "auto"


def setting(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    choices: tuple[Any, ...] | None = None,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    cli: bool = True,
    names: Callable[[], list[str]] | None = None,
    path: bool = False,
) -> Any:
    """A dataclass field with its help, flag name (default: the field name with dashes),
    allowed values and bounds (``low <= value <= high``, strict with ``*_open``); ``cli=False``
    keeps it off the command line (a Python-only setting); ``names()`` lists the values a
    registry knows (shown in the flag's help); a ``path`` starting with ``~`` is the user's
    home (a recipe file's ``checkpoint: ~/runs/a.pt``; the shell expands only flags)."""
    meta = dict(
        names=names,
        path=path,
        help=help,
        flag=flag,
        choices=choices,
        low=low,
        high=high,
        low_open=low_open,
        high_open=high_open,
        cli=cli,
    )
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class Setting:
    """One field of a config, as the flag generator and the validator see it."""

    name: str
    default: Any
    type: Any
    help: str
    flag: str
    choices: tuple[Any, ...] | None
    low: float | None
    high: float | None
    low_open: bool
    high_open: bool
    cli: bool
    names: Callable[[], list[str]] | None = None
    path: bool = False

    @property
    def optional(self) -> bool:
        return _allows_none(self.type)

    @property
    def base(self) -> Any:
        """The annotation without ``None`` and without ``"auto"`` (``str`` in a union with
        another type is the ``"auto"`` marker)."""
        args = [a for a in _args(self.type) if a is not type(None)]
        if len(args) > 1 and str in args:
            args = [a for a in args if a is not str]
        return args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007

    @property
    def accepts_auto(self) -> bool:
        args = [a for a in _args(self.type) if a is not type(None)]
        return str in args and len(args) > 1


def _args(tp: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(tp)
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        return typing.get_args(tp)
    return (tp,)


def _allows_none(tp: Any) -> bool:
    return type(None) in _args(tp)


def settings_of(cls: Any) -> Iterator[Setting]:
    """The :class:`Setting` of every field of the config class (or instance) ``cls``."""
    cls = cls if isinstance(cls, type) else type(cls)
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        m = f.metadata
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        yield Setting(
            f.name,
            default,
            hints[f.name],
            m.get("help", ""),
            m.get("flag") or f.name.replace("_", "-"),
            m.get("choices"),
            m.get("low"),
            m.get("high"),
            m.get("low_open", False),
            m.get("high_open", False),
            m.get("cli", True),
            m.get("names"),
            m.get("path", False),
        )


def _type_ok(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    for arg in _args(tp):
        if arg is type(None) and value is None:
            return True
        origin = typing.get_origin(arg) or arg
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if origin in (bool, str) and isinstance(value, origin):
            return True
        if origin in (tuple, list, dict) and isinstance(value, origin):
            return True
    return False


def validate(config: Any) -> None:
    """Check every field of ``config`` against its annotation, choices and bounds; raise a
    ``ValueError`` naming the setting."""
    owner = type(config).__name__
    for s in settings_of(config):
        value = getattr(config, s.name)
        if s.accepts_auto and value == AUTO:
            continue
        if not _type_ok(value, s.type) or (s.accepts_auto and isinstance(value, str)):
            raise ValueError(
                f"{s.name}={value!r} must be {_describe(s.type)} ({owner}.{s.name}: {s.help})"
            )
        if value is None:
            continue
        if s.path and isinstance(value, str) and value.startswith("~"):
            object.__setattr__(config, s.name, osp.expanduser(value))
        # Names and choices in any case and with '-' / '_' as the user likes; the config
        # keeps the spelling that the code compares against.
        if s.names is not None and isinstance(value, str) and value != AUTO:
            object.__setattr__(config, s.name, resolve_name(value, s.names(), s.name))
        if s.choices is not None and isinstance(value, str):
            value = spelled(c for c in s.choices if isinstance(c, str))(value)
            object.__setattr__(config, s.name, value)
        if s.choices is not None and value not in s.choices:
            options = ", ".join(str(c) for c in s.choices) + (" (or none)" if s.optional else "")
            raise ValueError(
                f"{s.name}={value!r} must be one of {options} ({owner}.{s.name})"
                + did_you_mean(str(value), [str(c) for c in s.choices])
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_bounds(s, value, owner)


def _bound_text(s: Setting) -> str:
    def num(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else f"{v:g}"

    if s.low is not None and s.high is not None:
        left, right = "(" if s.low_open else "[", ")" if s.high_open else "]"
        return f"must lie in {left}{num(s.low)}, {num(s.high)}{right}"
    if s.low is not None:
        return f"must be > {num(s.low)}" if s.low_open else f"must be at least {num(s.low)}"
    return f"must be < {num(s.high)}" if s.high_open else f"must be at most {num(s.high)}"


def _check_bounds(s: Setting, value: float, owner: str) -> None:
    if math.isnan(float(value)):
        raise ValueError(f"{s.name}=nan is not a number ({owner}.{s.name}: {s.help})")
    bad_low = s.low is not None and (value <= s.low if s.low_open else value < s.low)
    bad_high = s.high is not None and (value >= s.high if s.high_open else value > s.high)
    if bad_low or bad_high:
        raise ValueError(f"{s.name}={value!r} {_bound_text(s)} ({s.help})")


def _describe(tp: Any) -> str:
    names = []
    for arg in _args(tp):
        origin = typing.get_origin(arg) or arg
        names.append("None" if arg is type(None) else getattr(origin, "__name__", str(arg)))
    names = ["'auto'" if n == "str" and len(names) > 1 else n for n in names]
    return " or ".join(names)
