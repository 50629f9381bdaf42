r"""The graph convolutions a model can be built with, by name.

A model of :mod:`revgnn.models` takes ``conv: str | Callable`` and ``conv_kwargs``. A name
refers to a :class:`ConvSpec` registered with :func:`register_conv` (``"gen"``, ``"gat"``,
``"sage"``, ``"gcn"``, ``"gin"``, ``"mlp"``, ...; every module of :mod:`revgnn.nn.conv` is
imported, so adding a conv is adding one file). A callable is used as the builder itself.

A builder is called as ``build(in_channels, out_channels, edge_dim, **conv_kwargs)`` and
returns a module called as ``conv(x, edge_index, **kwargs)``, with ``edge_attr=`` when
``edge_dim`` is not ``None`` (and ``x0=``, the model's initial embedding, for a conv registered
with ``initial=True``). The keyword-only parameters of the builder are the conv's options:
unknown ones are refused with a message naming them. Models offer ``norm`` and ``layer`` (the
block's 1-based depth) as defaults to the builders that take them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

__all__ = ["CONVS", "ConvSpec", "conv_resolver", "register_conv"]

Builder = Callable[..., nn.Module]
Prepare = Callable[[Any, int, Any], tuple[Any, dict[str, Any]]]


@dataclass(frozen=True)
class ConvSpec:
    """One registered graph convolution.

    Args:
        name: Its name.
        build: ``build(in_channels, out_channels, edge_dim, **options) -> nn.Module``.
        edge_features: Whether it takes edge features (``edge_attr``).
        prepare: Graph preprocessing that every layer shares, run once per forward pass:
            ``prepare(edge_index, num_nodes, dtype) -> (edge_index, extra_kwargs)`` (e.g.
            GCN's symmetric normalisation); the convs are then built with
            ``prepared_options``.
        prepared_options: Options for convs that receive a prepared graph.
        initial: Whether the conv reads the model's initial embedding, keyword ``x0``
            (initial-residual convs such as GCNII).
    """

    name: str
    build: Builder
    edge_features: bool = True
    prepare: Prepare | None = None
    prepared_options: dict[str, Any] = field(default_factory=dict)
    initial: bool = False

    @property
    def options(self) -> dict[str, Any]:
        """The builder's options and their defaults (``inspect.Parameter.empty`` if none)."""
        params = inspect.signature(self.build).parameters.values()
        return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}

    def accepts(self, option: str) -> bool:
        params = inspect.signature(self.build).parameters.values()
        return option in self.options or any(p.kind is p.VAR_KEYWORD for p in params)

    def make(
        self,
        in_channels: int,
        out_channels: int,
        edge_dim: int | None,
        options: dict[str, Any],
        defaults: dict[str, Any] | None = None,
        prepared: bool = False,
    ) -> nn.Module:
        """Build one conv: ``defaults`` (a model's, e.g. its ``norm``) apply where the conv
        takes them and ``options`` do not set them; ``prepared`` adds
        :attr:`prepared_options` (the graph was preprocessed by :attr:`prepare`)."""
        merged = {k: v for k, v in (defaults or {}).items() if self.accepts(k)}
        merged.update(options)
        if prepared:
            merged.update(self.prepared_options)
        return self(in_channels, out_channels, edge_dim, **merged)

    def __call__(
        self, in_channels: int, out_channels: int, edge_dim: int | None, **options: Any
    ) -> nn.Module:
        if edge_dim is not None and not self.edge_features:
            raise ValueError(
                f"conv={self.name!r} takes no edge features: build the model with "
                f"edge_dim=None (got edge_dim={edge_dim}) or use a conv that takes them "
                f"({', '.join(n for n, s in CONVS.items() if s.edge_features)})"
            )
        unknown = [k for k in options if not self.accepts(k)]
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ValueError(
                f"conv_kwargs {unknown} are not options of conv={self.name!r} "
                f"(its options: {known})"
            )
        return self.build(in_channels, out_channels, edge_dim, **options)


#: Every registered convolution, by name.
CONVS: dict[str, ConvSpec] = {}


def register_conv(
    name: str,
    *,
    edge_features: bool = True,
    prepare: Prepare | None = None,
    prepared_options: dict[str, Any] | None = None,
    initial: bool = False,
) -> Callable[[Builder], Builder]:
    """Decorator registering a conv builder under ``name`` (see the module docstring)."""

    def decorator(build: Builder) -> Builder:
        if name in CONVS:
            raise ValueError(f"a conv named {name!r} is already registered; choose another name")
        options = dict(prepared_options or {})
        CONVS[name] = ConvSpec(name, build, edge_features, prepare, options, initial)
        return build

    return decorator


def conv_resolver(conv: str | Builder) -> ConvSpec:
    """The :class:`ConvSpec` of a registered name, or one wrapping a builder callable."""
    if isinstance(conv, ConvSpec):
        return conv
    if isinstance(conv, str):
        if conv not in CONVS:
            raise ValueError(f"conv={conv!r} is not one of {', '.join(sorted(CONVS))}")
        return CONVS[conv]
    if callable(conv):
        return ConvSpec(getattr(conv, "__name__", type(conv).__name__), conv)
    raise TypeError(f"conv must be a name or a callable builder, got {type(conv).__name__}")
