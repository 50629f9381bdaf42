"""A recipe: everything a run needs, as data (YAML files, the run's JSON record).

A :class:`Recipe` holds a model config, an optimisation recipe, a data recipe and the run's
settings (and a search config for ``revgnn search``). It is read from and written to YAML
(:func:`load_recipe`, :meth:`Recipe.to_yaml`) in sections named after its parts::

    model: {model: revgnn, hidden_channels: 80, num_layers: 1001, conv: gen,
            conv_options: {aggr: max}}
    optim: {epochs: 2000, lr: 0.001}
    data: {dataset: ogbn-proteins, partition: random, num_parts: 10}

A file names only what differs from the library's defaults. The paper recipes ship as such
files (:mod:`revgnn.config.recipes`, by name: ``ogbn-proteins/revgnn-deep``); every command
takes ``--config FILE_OR_NAME``, any flag overrides a field, ``--print-config`` writes the
resolved recipe, and the run's JSON records it, so a result can be rerun from its own record.

The keys a user set (in a file or by a flag) are the recipe's :attr:`~Recipe.explicit` keys:
setting one that the chosen model, optimiser, schedule or dataset does not use is an error
(:meth:`Recipe.check_used`), as is a key no config has.
"""

from __future__ import annotations

import os.path as osp
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from typing import Any

import yaml

from revgnn.config.data import DataConfig
from revgnn.config.model import ModelConfig, PointModelConfig
from revgnn.config.optim import OptimConfig
from revgnn.config.run import RunConfig
from revgnn.config.search import SearchConfig
from revgnn.models.registry import MODELS
from revgnn.utils.registry import did_you_mean, spelled

__all__ = ["SECTIONS", "Recipe", "load_recipe", "recipe_from_text", "recipe_names"]

#: The parts of a recipe and their config classes (the model's depends on its family).
SECTIONS: dict[str, Any] = {
    "model": ModelConfig,
    "optim": OptimConfig,
    "data": DataConfig,
    "run": RunConfig,
    "search": SearchConfig,
}
_MODEL_CLASSES = {"node": ModelConfig, "point": PointModelConfig}


@dataclass(frozen=True)
class Recipe:
    """A complete, validated recipe (see the module docstring).

    Args:
        model: A :class:`ModelConfig` or :class:`PointModelConfig`.
        optim, data, run: The other parts.
        search: The search settings (``revgnn search`` only).
        source: Where the recipe came from (a file, a name), for messages and records.
        explicit: The dotted keys a user set (``"model.num_layers"``).
    """

    model: ModelConfig | PointModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)
    search: SearchConfig | None = None
    source: str = "defaults"
    explicit: frozenset[str] = frozenset()

    def to_dict(self, full: bool = True) -> dict[str, Any]:
        """Plain data: every field (``full``) or only those that differ from the defaults."""
        out: dict[str, Any] = {}
        for name in SECTIONS:
            part = getattr(self, name)
            if part is None:
                continue
            default = type(part)()
            values = {
                f.name: _plain(getattr(part, f.name))
                for f in fields(part)
                if full or getattr(part, f.name) != getattr(default, f.name)
            }
            if values or full:
                out[name] = values
        return out

    def to_yaml(self, full: bool = True) -> str:
        header = f"# revgnn recipe (from {self.source})\n"
        return header + yaml.safe_dump(self.to_dict(full), sort_keys=False, width=100)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "data", explicit: bool = True) -> Recipe:
        """A recipe of the sections in ``data`` over the defaults; with ``explicit`` every key
        given counts as set by the user."""
        return cls(source=source).with_values(_flatten(data, source), explicit=explicit)

    def with_values(self, values: dict[str, Any], explicit: bool = True) -> Recipe:
        """A copy with dotted ``values`` applied (``{"model.num_layers": 6}``;
        ``"model.conv_options.aggr"`` sets one conv option), validated."""
        parts: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            section, _, name = key.partition(".")
            if section not in SECTIONS or not name:
                raise ValueError(
                    f"{key!r} is not a recipe key: keys are <section>.<field>, sections "
                    f"{', '.join(SECTIONS)}"
                )
            parts.setdefault(section, {})[name] = value
        changes: dict[str, Any] = {}
        for section, updates in parts.items():
            changes[section] = _updated(self, section, updates)
        new = replace(self, **changes)
        if explicit:
            new = replace(new, explicit=self.explicit | frozenset(values))
        return new

    def check_used(self, flags: dict[str, str] | None = None) -> None:
        """Refuse a setting the user gave that this recipe does not use, naming it (by its
        flag where ``flags`` maps keys to flags) and why (each config's ``unused()`` says what
        does not use it: ``"--optimizer adam (only SGD has a momentum)"``)."""
        for section in SECTIONS:
            part = getattr(self, section)
            if part is None or not hasattr(part, "unused"):
                continue
            for name, why in part.unused().items():
                key = f"{section}.{name}"
                if key in self.explicit:
                    label = (flags or {}).get(key, key)
                    raise ValueError(f"{label} is not used by {why}")


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _flatten(data: dict[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a recipe is a mapping of sections, got {type(data).__name__}")
    out = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ValueError(
                f"{source}: {section!r} is not a recipe section (sections: {', '.join(SECTIONS)})"
            )
        if not isinstance(values, dict):
            raise ValueError(f"{source}: section {section!r} must be a mapping of fields")
        for name, value in values.items():
            if name == "conv_options" and isinstance(value, dict) and value:
                out.update({f"{section}.conv_options.{k}": v for k, v in value.items()})
            else:
                out[f"{section}.{name}"] = value
    return out


def _updated(recipe: Recipe, section: str, updates: dict[str, Any]) -> Any:
    current = getattr(recipe, section)
    cls = SECTIONS[section]
    if section == "model":
        cls = _MODEL_CLASSES[MODELS.entry(updates.get("model", current.model)).info["family"]]
        if not isinstance(current, cls):  # another family: start from its defaults
            current = cls()
    if current is None:
        current = cls()
    values = {f.name: getattr(current, f.name) for f in fields(current)}
    known = set(values)
    conv = {k.split(".", 1)[1]: v for k, v in updates.items() if k.startswith("conv_options.")}
    updates = {k: v for k, v in updates.items() if not k.startswith("conv_options.")}
    unknown = [k for k in updates if k not in known]
    if unknown:
        hint = did_you_mean(unknown[0], known) if len(unknown) == 1 else ""
        raise ValueError(
            f"{', '.join(f'{section}.{k}' for k in unknown)}: not a field of {cls.__name__}"
            f"{hint} (its fields: {', '.join(sorted(known))})"
        )
    values.update({k: _tuple(v) if isinstance(v, list) else v for k, v in updates.items()})
    # Another conv: the previous conv's options are not its options.
    changed = "conv" in updates and updates["conv"] != getattr(current, "conv", None)
    if changed and "conv_options" in known and "conv_options" not in updates:
        values["conv_options"] = {}
    if conv:
        if "conv_options" not in known:
            raise ValueError(f"{cls.__name__} has no conv options")
        values["conv_options"] = {**values["conv_options"], **conv}
    return cls(**values)


def _tuple(value: list[Any]) -> Any:
    return tuple(value)


def recipe_names() -> list[str]:
    """The recipes shipped with the library (``<group>/<name>``)."""
    root = resources.files("revgnn.config") / "recipes"
    names = []
    for group in root.iterdir():
        if group.is_dir():
            names += [
                f"{group.name}/{p.name[:-5]}" for p in group.iterdir() if p.name.endswith(".yaml")
            ]
    return sorted(names)


def load_recipe(path_or_name: str, base: Recipe | None = None, explicit: bool = True) -> Recipe:
    """A recipe from a YAML file, or a shipped one by name (:func:`recipe_names`), over
    ``base`` (default: the library's defaults). A file's keys count as set by the user
    (``explicit``); a shipped recipe's do not."""
    names = recipe_names()
    if osp.isfile(path_or_name):
        with open(path_or_name) as f:
            text = f.read()
        source, explicit_keys = path_or_name, explicit
    elif (shipped := spelled(names)(path_or_name)) in names:
        path_or_name = shipped  # OGBN-Arxiv/DeeperGCN: any spelling
        group, name = path_or_name.split("/")
        text = (resources.files("revgnn.config") / "recipes" / group / f"{name}.yaml").read_text()
        source, explicit_keys = path_or_name, False
    else:
        folder = osp.dirname(path_or_name)
        if path_or_name.endswith((".yaml", ".yml", ".json")) or (folder and osp.isdir(folder)):
            raise FileNotFoundError(f"--config {path_or_name}: no such file")
        raise ValueError(
            f"--config {path_or_name!r} is neither a file nor a shipped recipe "
            f"({', '.join(names)}){did_you_mean(path_or_name, names)}"
        )
    return recipe_from_text(text, source, base, explicit_keys)


def recipe_from_text(
    text: str, source: str, base: Recipe | None = None, explicit: bool = True
) -> Recipe:
    """A recipe from YAML (or JSON) ``text`` read from ``source``, over ``base``; with
    ``explicit``, the keys that differ from the defaults count as set by the user."""
    base = base or Recipe()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{source} is not valid YAML: {' '.join(str(e).split())}") from None
    if isinstance(data, dict) and isinstance(data.get("recipe"), dict):
        data = data["recipe"]  # a run's JSON record: rerun its recipe
    values = _flatten(data, source)
    recipe = replace(base, source=source).with_values(values, explicit=False)
    if explicit:
        # A file may be a complete record: only what differs from the defaults is a wish.
        defaults = Recipe().to_dict()
        wished = {k for k, v in values.items() if _lookup(defaults, k) != _plain(v)}
        recipe = replace(recipe, explicit=recipe.explicit | frozenset(wished))
    return recipe


def _lookup(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()
