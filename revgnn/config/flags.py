"""Command-line flags generated from the config fields: a default lives in one place.

:func:`add_config_flags` adds one flag per field of the chosen recipe sections (its help,
type and default from :func:`~revgnn.config.fields.setting`), and for node models one flag
per option of the registered convolutions (their defaults are the convs' own);
:func:`recipe_from_args` turns the parsed flags into a :class:`~revgnn.config.Recipe`: the
shipped or given ``--config`` recipe, then every flag given, each recorded as set by the
user. A flag not given takes the recipe's value, which is the library's default unless the
recipe set it.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from typing import Any

from revgnn.config.fields import AUTO, Setting, settings_of
from revgnn.config.model import default_conv
from revgnn.config.recipe import SECTIONS, Recipe, load_recipe, recipe_names
from revgnn.nn.conv.registry import CONVS, MODEL_SUPPLIED, conv_resolver

__all__ = [
    "add_config_flags",
    "add_section_flags",
    "conv_option_flags",
    "flag_names",
    "given",
    "recipe_from_args",
]

_DEST = "cfg__"


def _parse_value(text: str, s: Setting) -> Any:
    low = text.lower()
    if s.optional and low == "none":
        return None
    if s.accepts_auto and low == AUTO:
        return AUTO
    base = s.base
    try:
        if base is int:
            return int(text)
        if base is float:
            return float(text)
    except ValueError:
        words = ["none"] * s.optional + [AUTO] * s.accepts_auto
        also = f" (or {' or '.join(words)})" if words else ""
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if base is int else 'a number'}{also}"
        ) from None
    return text


def _metavar(s: Setting) -> str:
    if s.choices is not None:
        return "{" + ",".join(str(c) for c in (*s.choices, *(["none"] if s.optional else []))) + "}"
    return {int: "INT", float: "FLOAT"}.get(s.base, "TEXT")


def _help(s: Setting, show_default: bool, shown: Any = dataclasses.MISSING) -> str:
    text = s.help
    if s.names is not None:
        text += f" (one of {', '.join(s.names())})"
    if not show_default:
        return text
    default = s.default if shown is dataclasses.MISSING else shown
    return f"{text} (default: {'none' if default is None else default})"


def add_section_flags(
    group: argparse._ArgumentGroup,
    section: str,
    cls: type,
    show_defaults: bool = True,
    names_of: dict[str, Any] | None = None,
    shown: Any = None,
) -> dict[str, str]:
    """Flags for every command-line field of ``cls``, stored under ``section``; returns
    ``{dotted key: flag}``. ``names_of`` maps a field to the function listing its known
    values (a registry of a higher layer, e.g. the datasets), for its help; ``shown`` is the
    section (a ``cls`` instance) whose values the help gives as defaults (``cls``'s own
    defaults without it)."""
    names = {}
    for s in settings_of(cls):
        if not s.cli:
            continue
        if names_of and s.name in names_of:
            s = dataclasses.replace(s, names=names_of[s.name])
        value = getattr(shown, s.name, dataclasses.MISSING)
        dest = f"{_DEST}{section}.{s.name}"
        flag = f"--{s.flag}"
        if s.base is bool and not s.optional:
            group.add_argument(
                flag,
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=_help(s, show_defaults, value),
            )
        else:
            group.add_argument(
                flag,
                dest=dest,
                type=lambda text, s=s: _parse_value(text, s),
                metavar=_metavar(s),
                default=argparse.SUPPRESS,
                help=_help(s, show_defaults, value),
            )
        names[f"{section}.{s.name}"] = flag
    return names


def _option_types(spec: Any) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for target in (spec.forwards_to, spec.build):
        if target is None:
            continue
        fn = target.__init__ if inspect.isclass(target) else target
        try:
            hints.update({k: v for k, v in typing.get_type_hints(fn).items() if k not in hints})
        except Exception:  # an annotation that does not resolve: parse as text
            continue
    return hints


_RST = ((re.compile(r":\w+:`~?(?:[\w.]+\.)?([^`]+)`"), r"\1"), (re.compile(r"``([^`]*)``"), r"\1"))


def _option_help(spec: Any, option: str) -> str:
    """The option's line of its conv's docstring (``Args:`` section), without reST."""
    renames = getattr(spec.build, "renames", {})
    original = {v: k for k, v in renames.items()}.get(option, option)
    for target in (spec.forwards_to, spec.build):
        doc = inspect.getdoc(target) or ""
        match = re.search(rf"^(\s*){original} \([^)]*\):(.*(?:\n\1\s+.*)*)", doc, re.M)
        if match:
            text = " ".join(match.group(2).split())
            text = re.split(r"\s*\(default", text)[0]
            for pattern, repl in _RST:
                text = pattern.sub(repl, text)
            return text.rstrip(".")
    return "option"


def _simple_type(tp: Any) -> Any:
    for arg in typing.get_args(tp) or (tp,):
        if arg in (bool, int, float, str):
            return arg
    return str


def conv_option_flags() -> dict[str, dict[str, Any]]:
    """Every option of the registered node convs: ``{option: {"type", "convs", "help"}}``."""
    out: dict[str, dict[str, Any]] = {}
    for name in CONVS.names():
        spec = conv_resolver(name)
        hints = _option_types(spec)
        renames = getattr(spec.build, "renames", {})
        for option in spec.options:
            if option in MODEL_SUPPLIED or option == "aggr_kwargs":
                continue
            original = {v: k for k, v in renames.items()}.get(option, option)
            entry = out.setdefault(
                option,
                {"type": _simple_type(hints.get(original, str)), "convs": [], "help": "",
                 "default": spec.options[option]},
            )  # fmt: skip
            entry["convs"].append(name)
            if not entry["help"] or entry["help"] == "option":
                entry["help"] = _option_help(spec, option)
    return out


def _parse_option(text: str, tp: Any) -> Any:
    if tp is bool:
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise argparse.ArgumentTypeError(f"{text!r} is not true or false")
    if text.lower() == "none":
        return None
    try:
        return tp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a {tp.__name__}") from None


def add_conv_flags(
    group: argparse._ArgumentGroup, taken: set[str], shown: dict[str, Any] | None = None
) -> dict[str, str]:
    """One flag per conv option (``--aggr``, ``--t``, ``--heads``, ...), named
    ``--conv-<option>`` where the option's name is a flag already; the help's default is the
    value in ``shown`` (a recipe's ``conv_options``), else the conv's own."""
    names = {}
    for option, info in conv_option_flags().items():
        flag = "--" + option.replace("_", "-")
        if flag in taken:
            flag = "--conv-" + option.replace("_", "-")
        value = (shown or {}).get(option, info["default"])
        default = "" if value is inspect.Parameter.empty else f"; default {value}"
        helptext = f"{info['help']} (option of --conv {', '.join(info['convs'])}{default})"
        dest = f"{_DEST}model.conv_options.{option}"
        if info["type"] is bool:
            group.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS, help=helptext,
            )  # fmt: skip
        else:
            group.add_argument(
                flag, dest=dest, default=argparse.SUPPRESS, help=helptext,
                metavar={int: "INT", float: "FLOAT"}.get(info["type"], "TEXT"),
                type=lambda text, tp=info["type"]: _parse_option(text, tp),
            )  # fmt: skip
        names[f"model.conv_options.{option}"] = flag
    return names


def add_config_flags(
    parser: argparse.ArgumentParser,
    sections: dict[str, type],
    *,
    conv_options: bool = False,
    default_recipe: str | None = None,
    names_of: dict[str, Any] | None = None,
    shown: Recipe | None = None,
) -> dict[str, str]:
    """Add ``--config``, ``--print-config`` and a flag per field of ``sections`` (``{section:
    config class}``, e.g. ``{"model": ModelConfig, "optim": OptimConfig}``); returns the
    ``{dotted key: flag}`` map (also stored as ``parser.config_flags``). The help gives the
    values of ``shown`` as the defaults, else those of ``default_recipe``, else the config
    classes' own: what the command runs with when no flag is given."""
    if shown is None and default_recipe is not None:
        shown = load_recipe(default_recipe, explicit=False)
    recipe = parser.add_argument_group("recipe")
    shipped = ", ".join(recipe_names())
    recipe.add_argument(
        "--config",
        metavar="FILE_OR_NAME",
        default=default_recipe,
        help="a YAML recipe, or a shipped one by name; flags override its fields "
        f"(shipped: {shipped})",
    )
    recipe.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved recipe as YAML and exit (write it to a file to rerun it)",
    )
    names: dict[str, str] = {}
    for section, cls in sections.items():
        group = parser.add_argument_group(section)
        prefix = section + "."
        known = {k[len(prefix) :]: v for k, v in (names_of or {}).items() if k.startswith(prefix)}
        part = getattr(shown, section, None)
        names.update(add_section_flags(group, section, cls, names_of=known, shown=part))
        if section == "model" and conv_options:
            given = getattr(part, "conv_options", None)
            names.update(add_conv_flags(group, set(names.values()), given))
    parser.set_defaults(config_flags=names)
    return names


def flag_names(args: argparse.Namespace) -> dict[str, str]:
    """``{dotted key: flag}`` of the command's generated flags."""
    return getattr(args, "config_flags", {})


def given(args: argparse.Namespace, section: str | None = None) -> dict[str, Any]:
    """The recipe values of the flags given on the command line (dotted keys), or those of
    one ``section`` (field names)."""
    values = {k[len(_DEST) :]: v for k, v in vars(args).items() if k.startswith(_DEST)}
    if section is None:
        return values
    prefix = section + "."
    return {k[len(prefix) :]: v for k, v in values.items() if k.startswith(prefix)}


def recipe_from_args(args: argparse.Namespace, base: Recipe | None = None) -> Recipe:
    """``base`` (default: the library's defaults), then ``--config``, then every flag given
    (each recorded as set by the user); checked for settings given but unused."""
    recipe = base or Recipe()
    if getattr(args, "config", None):
        recipe = load_recipe(args.config, recipe)
    values = given(args)
    _check_conv_options(recipe, values, flag_names(args))
    if values:
        recipe = recipe.with_values(values, explicit=True)
    recipe.check_used(flag_names(args))
    return recipe


def _check_conv_options(recipe: Recipe, values: dict[str, Any], flags: dict[str, str]) -> None:
    """A conv option flag the chosen conv does not take is refused naming both flags."""
    options = [k for k in values if k.startswith("model.conv_options.")]
    if not options:
        return
    conv = values.get("model.conv", getattr(recipe.model, "conv", None))
    if conv == AUTO:
        conv = default_conv(values.get("model.model", recipe.model.model))
    spec = conv_resolver(conv)
    for key in options:
        option = key.rsplit(".", 1)[1]
        if not spec.accepts(option):
            known = ", ".join(spec.options) or "none"
            raise ValueError(
                f"{flags.get(key, option)} is not used by --conv {conv} (its options: {known})"
            )


def section_classes(*names: str) -> dict[str, type]:
    return {n: SECTIONS[n] for n in names}
