"""Composed models called with their sizes, as PyG's models are: ``RevGNN(1433, 64, 7,
num_layers=64)``.

:class:`~revgnn.models.RevGNN`, :class:`~revgnn.models.DeeperGCN`,
:class:`~revgnn.models.DEQGNN` and :class:`~revgnn.models.DeepGCN` are built from their parts
(an encoder, a body, a head). Called with sizes instead, as their ``repr`` reads, they build
themselves with :func:`revgnn.build_model` from the model config's settings: the library's
defaults for every setting not given, the same model as ``revgnn train`` builds (the graph's
own adaptations aside).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from torch import nn

__all__ = ["SIZES", "adopt_sizes", "sized_builder"]

#: The sizes a model family is called with, in their positional order.
SIZES = {
    "node": ("in_channels", "hidden_channels", "out_channels"),
    "point": ("in_channels", "out_channels"),
}

_BUILDER: Callable[..., nn.Module] | None = None


def _is_size(value: Any) -> bool:
    if isinstance(value, (bool, nn.Module)) or value is None:
        return False
    try:
        operator.index(value)
    except TypeError:
        return False
    return True


def _has_reversible(module: nn.Module) -> bool:
    return isinstance(getattr(type(module), "reversible", None), property)


def adopt_sizes(
    module: nn.Module,
    model: str,
    family: str,
    parts: dict[str, Any],
    options: dict[str, str],
    settings: dict[str, Any],
    shared: dict[str, Any] | None = None,
) -> bool:
    """Build ``module`` (just initialised as an empty ``nn.Module``) as the registered model
    ``model`` when its constructor was called with sizes; return whether it was.

    Args:
        module (nn.Module): The model being constructed.
        model (str): Its name in :data:`~revgnn.models.MODELS`.
        family (str): ``"node"`` or ``"point"``: the sizes (:data:`SIZES`) and the config.
        parts (dict): The constructor's required parts by name, as passed (``None`` where
            not): positional sizes arrive in them.
        options (dict): The optional parts' arguments that were set, each with the setting
            that does its work (named in the error: they are not allowed with sizes).
        settings (dict): The constructor's other keyword arguments: sizes, the config's
            fields, ``edge_dim``, and ``reversible`` for models that have it.
        shared (dict, optional): Named parameters of the parts' constructor that are config
            fields too, where set: settings when the model is built from sizes.
    """
    name = type(module).__name__
    names = SIZES[family]
    values = list(parts.values())
    if not any(_is_size(v) for v in values) and not any(n in settings for n in names):
        missing = [k for k, v in parts.items() if v is None]
        if missing or settings:
            what = f"missing {', '.join(missing)}" if missing else f"got {', '.join(settings)}"
            raise TypeError(
                f"{name} is built from its parts ({', '.join(parts)}) or from its sizes, "
                f"{name}({', '.join(names)}, num_layers=..., ...); {what}"
            )
        return False
    sizes = _sizes(name, names, values, settings)
    if options:
        option, remedy = next(iter(options.items()))
        raise TypeError(
            f"{name} built from sizes takes settings, not {option} (an argument of the model "
            f"built from parts): use {remedy}"
        )
    _build_into(module, model, family, sizes, {**(shared or {}), **settings})
    return True


def _sizes(
    name: str, names: tuple[str, ...], values: list[Any], settings: dict[str, Any]
) -> dict[str, int]:
    """The sizes, positional (in ``values``) or by keyword (popped from ``settings``)."""
    sizes: dict[str, int] = {}
    given = [(size, value) for size, value in zip(names, values) if value is not None]
    if any(v is not None for v in values[len(names) :]):
        raise TypeError(f"{name} built from sizes takes {len(names)} positional sizes, "
                        f"{', '.join(names)}; pass settings by keyword")  # fmt: skip
    for size in names:
        if size in settings:
            if any(size == s for s, _ in given):
                raise TypeError(f"{name} got two values for {size}")
            given.append((size, settings.pop(size)))
    for size, value in given:
        if not _is_size(value):
            raise TypeError(f"{name}: {size}={value!r} must be an int (a size)")
        sizes[size] = operator.index(value)
    missing = [size for size in names if size not in sizes]
    if missing:
        raise TypeError(f"{name} built from sizes needs {', '.join(missing)}")
    return sizes


def sized_builder(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Register the function that builds a model from its sizes and settings (the config
    layer's :func:`~revgnn.config.build.build_sized`, registered when :mod:`revgnn.config`
    is imported, as ``import revgnn`` does): ``fn(name, model, family, sizes, settings,
    extra)``, ``extra`` the keywords besides the config's fields that the caller takes."""
    global _BUILDER
    _BUILDER = fn
    return fn


def _build_into(
    module: nn.Module, model: str, family: str, sizes: dict[str, int], settings: dict[str, Any]
) -> None:
    name = type(module).__name__
    extra = ["edge_dim"] if family == "node" else []
    extra += ["reversible"] if _has_reversible(module) else []
    reversible = settings.pop("reversible", None) if "reversible" in extra else None
    assert _BUILDER is not None  # revgnn/__init__ imports revgnn.config, which registers it
    built = _BUILDER(name, model, family, sizes, settings, extra)
    if not isinstance(module, type(built)):  # a subclass of the built class may adopt it
        raise TypeError(f"model={model!r} builds a {type(built).__name__}, not a {name}")
    if reversible is not None:
        built.reversible = reversible
    # The built model's state is the module's: parameters, buffers and submodules all live in
    # its __dict__.
    module.__dict__.update(built.__dict__)
