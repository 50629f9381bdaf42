"""Models by name: each model file registers its builder.

A builder is ``build(in_channels, out_channels, edge_dim, **settings)`` whose keyword
parameters are settings of a model config (:class:`~revgnn.config.ModelConfig` for node
models, :class:`~revgnn.config.PointModelConfig` for point-cloud models), named as its fields,
with no defaults of their own: the config's defaults are the library's, in one place.
:func:`revgnn.build_model` passes each builder the settings it takes and refuses a setting
that was set but is not taken. Adding a model is adding one file that calls
:func:`register_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from revgnn.utils.registry import Registry

__all__ = ["FAMILIES", "MODELS", "register_model"]

#: Model families: which config class describes them.
FAMILIES = ("node", "point")

#: Every registered model builder, by name.
MODELS: Registry[Callable[..., nn.Module]] = Registry("model")


def register_model(name: str, *, family: str, **info: Any) -> Callable[[Any], Any]:
    """Decorator registering a model builder under ``name`` (see the module docstring)."""
    if family not in FAMILIES:
        raise ValueError(f"family={family!r} must be one of {', '.join(FAMILIES)}")
    return MODELS.register(name, family=family, **info)
