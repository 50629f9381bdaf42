"""Build a model from its config (:func:`build_model`), or from a model class's sizes
(:func:`build_sized`, which ``RevGNN(1433, 64, 7, num_layers=64)`` calls)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from torch import nn

from revgnn.config.adapt import adapt_model
from revgnn.config.model import ModelConfig, PointModelConfig
from revgnn.models.from_sizes import sized_builder
from revgnn.models.registry import MODELS

__all__ = ["build_model", "build_sized"]


def build_model(
    cfg: ModelConfig | PointModelConfig,
    in_channels: int,
    out_channels: int,
    edge_dim: int | None = None,
    *,
    explicit: Iterable[str] | None = None,
) -> nn.Module:
    """The model ``cfg`` describes, freshly initialised, for ``in_channels`` input features,
    ``out_channels`` outputs and edge features of size ``edge_dim`` (or none).

    The builder registered as ``cfg.model`` receives the settings it takes. A setting it does
    not take is refused when it differs from its default, or, when ``explicit`` is given (the
    field names a user set, e.g. by flags over a recipe written for another model), when it
    is one of those: it would otherwise be silently ignored.

    Example::

        cfg = ModelConfig(model="revgnn", hidden_channels=80, num_layers=1001, conv="gen",
                          conv_options={"aggr": "max"}, norm="batch", dropout=0.1)
        model = build_model(cfg, in_channels=8, out_channels=112, edge_dim=8)
    """
    cfg = adapt_model(cfg)
    entry = MODELS.entry(cfg.model)
    default = type(cfg)()
    unused = cfg.unused()
    for name, why in unused.items():
        if explicit is not None:
            refused = name in set(explicit)
        else:
            refused = "." not in name and getattr(cfg, name) != getattr(default, name)
        if refused:
            raise ValueError(f"{name}={_value(cfg, name)!r} is not used by {why}")
    kwargs = {
        f.name: getattr(cfg, f.name)
        for f in fields(cfg)
        if f.name != "model" and entry.accepts(f.name, 3)
    }
    return entry.obj(in_channels, out_channels, edge_dim, **kwargs)


def _value(cfg: object, name: str) -> object:
    if name.startswith("conv_options."):
        return cfg.conv_options.get(name.split(".", 1)[1])  # type: ignore[attr-defined]
    return getattr(cfg, name)


@sized_builder
def build_sized(
    name: str,
    model: str,
    family: str,
    sizes: dict[str, int],
    settings: dict[str, Any],
    extra: list[str],
) -> nn.Module:
    """The model ``model`` of ``family`` built from ``sizes`` and config ``settings`` (a
    model class called with its sizes, named ``name``: :mod:`revgnn.models.from_sizes`);
    ``extra`` names the other keywords the call takes (``edge_dim``, and ``reversible``,
    already taken out of ``settings``), for the message naming what is unknown."""
    cfg_cls = ModelConfig if family == "node" else PointModelConfig
    entry = MODELS.entry(model)
    known = [f.name for f in fields(cfg_cls) if entry.accepts(f.name, 3)]
    if family == "node":
        known.remove("hidden_channels")  # a size
    known += extra
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise TypeError(
            f"{name} got unexpected settings {', '.join(unknown)}; model={model!r} takes "
            f"{', '.join(known)}"
        )
    edge_dim = settings.pop("edge_dim", None)
    if family == "node":
        settings["hidden_channels"] = sizes["hidden_channels"]
    cfg = cfg_cls(model=model, **settings)
    return build_model(cfg, sizes["in_channels"], sizes["out_channels"], edge_dim)
