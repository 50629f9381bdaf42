r"""The graph convolutions a model can be built with, by name.

A model takes ``conv`` (a name or a builder callable) and its options. A name refers to a
builder registered with :func:`register_conv` in :data:`CONVS` (``"gen"``, ``"gat"``,
``"sage"``, ``"gcn"``, ``"gin"``, ``"gcnii"``, ``"mlp"``, ``"edge"``, ``"mr"``; every module of
:mod:`revgnn.nn.conv` is imported, so adding a conv is adding one file). A callable is used as
the builder itself.

A builder is called as ``build(in_channels, out_channels, edge_dim, **options)`` and returns a
module called as ``conv(x, edge_index, **kwargs)``, with ``edge_attr=`` when ``edge_dim`` is
not ``None`` (and ``x0=``, the model's initial embedding, for a conv registered with
``initial=True``). Its keyword parameters are the conv's options, with their defaults: the
one place a conv option's default lives (a builder that forwards ``**options`` to a class
names it with ``forwards_to=``, whose keyword parameters then count as its options).
Options it does not take are refused with a message naming them. Models offer ``norm`` and
``layer`` (the block's 1-based depth) to the builders that take them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from revgnn.utils.registry import Registry, keyword_options

__all__ = ["CONVS", "MODEL_SUPPLIED", "ConvSpec", "conv_resolver", "register_conv"]

Builder = Callable[..., nn.Module]
Prepare = Callable[[Any, int, Any], tuple[Any, dict[str, Any]]]

#: Every registered convolution, by name.
CONVS: Registry[Builder] = Registry("conv", operators=True)

#: Options a model supplies itself (never a user's flag): the block's normalisation and
#: depth, the shared graph normalisation, the edge feature size.
MODEL_SUPPLIED = ("norm", "layer", "normalize", "edge_dim")


@dataclass(frozen=True)
class ConvSpec:
    """One graph convolution as a model sees it.

    Args:
        name: Its name.
        build: ``build(in_channels, out_channels, edge_dim, **options) -> nn.Module``.
        edge_features: Whether it takes edge features (``edge_attr``).
        prepare: Graph preprocessing that every layer shares, run once per forward pass:
            ``prepare(edge_index, num_nodes, dtype) -> (edge_index, extra_kwargs)`` (e.g.
            GCN's symmetric normalisation, which ``gcn_prepare`` keeps per edge index
            while it lives unmodified); the convs are then built with
            ``prepared_options``. While the model is explained it is called with
            ``per_edge=True`` as well, and must then keep the given edges in their order
            (PyG's explain masks have one entry per edge; :mod:`~revgnn.nn.conv.propagate_hooks`).
        prepared_options: Options for convs that receive a prepared graph.
        initial: Whether the conv reads the model's initial embedding, keyword ``x0``
            (initial-residual convs such as GCNII).
        forwards_to: The class the builder forwards ``**options`` to, if it does.
    """

    name: str
    build: Builder
    edge_features: bool = True
    prepare: Prepare | None = None
    prepared_options: dict[str, Any] = field(default_factory=dict)
    initial: bool = False
    forwards_to: type | None = None

    @property
    def options(self) -> dict[str, Any]:
        """The conv's options and their defaults (``inspect.Parameter.empty`` if none)."""
        own = {
            n: p.default
            for n, p in keyword_options(self.build).items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
        if self.forwards_to is None:
            return own
        # A builder may expose a forwarded option under another name (GENConv's MLP depth
        # ``num_layers`` is ``mlp_layers`` next to a model's own ``num_layers``).
        renames: dict[str, str] = getattr(self.build, "renames", {})
        consumed = ("in_channels", "out_channels", *MODEL_SUPPLIED[-1:], *own)
        forwarded = {
            renames.get(n, n): p.default
            for n, p in keyword_options(self.forwards_to).items()
            if n not in consumed and p.kind is not inspect.Parameter.VAR_KEYWORD
        }
        return {**own, **forwarded}

    def accepts(self, option: str) -> bool:
        if option in self.options:
            return True
        params = inspect.signature(self.build).parameters.values()
        return self.forwards_to is None and any(p.kind is p.VAR_KEYWORD for p in params)

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
            users = ", ".join(n for n in CONVS.names() if conv_resolver(n).edge_features)
            raise ValueError(
                f"conv={self.name!r} takes no edge features, and it was given edge_dim="
                f"{edge_dim} (a model's is its edge encoder's width, there because the data "
                f"has edge features): use a conv that takes them ({users}), conv='auto' (gen "
                "where the data has edge features), or data without edge_attr"
            )
        unknown = [k for k in options if not self.accepts(k)]
        if unknown:
            known = ", ".join(self.options) or "none"
            raise ValueError(
                f"conv options {unknown} are not options of conv={self.name!r} "
                f"(its options: {known})"
            )
        return self.build(in_channels, out_channels, edge_dim, **options)


def register_conv(
    name: str,
    *,
    edge_features: bool = True,
    prepare: Prepare | None = None,
    prepared_options: dict[str, Any] | None = None,
    initial: bool = False,
    forwards_to: type | None = None,
    operator: type | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator registering a conv builder under ``name`` (see the module docstring);
    ``operator`` is the class it builds, when its return annotation does not say."""
    return CONVS.register(
        name,
        edge_features=edge_features,
        prepare=prepare,
        prepared_options=dict(prepared_options or {}),
        initial=initial,
        forwards_to=forwards_to,
        operator=operator or forwards_to,
    )


def conv_resolver(conv: str | Builder | ConvSpec) -> ConvSpec:
    """The :class:`ConvSpec` of a registered name, or one wrapping a builder callable."""
    if isinstance(conv, ConvSpec):
        return conv
    if isinstance(conv, str):
        entry = CONVS.entry(conv)
        info = {k: v for k, v in entry.info.items() if k != "operator"}
        return ConvSpec(entry.name, entry.obj, **info)
    if callable(conv):
        return ConvSpec(getattr(conv, "__name__", type(conv).__name__), conv)
    raise TypeError(f"conv must be a name or a callable builder, got {type(conv).__name__}")
