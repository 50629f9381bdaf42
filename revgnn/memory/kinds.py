r"""The model kinds the profiler and the planner know, and their exact parameter counts.

Each kind is one entry of :data:`MODEL_KINDS` (:class:`ModelKind`): how to build it from a
:class:`Config` (revgnn's kinds are the paper recipes' models through
:func:`revgnn.build_model`), and the activation features its memory depends on
(:mod:`revgnn.memory.plan`). Parameter and buffer counts come from models built on the meta
device (:func:`num_parameters`). Adding a kind is adding an entry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
from torch import nn

from revgnn.config.build import build_model as build_revgnn_model
from revgnn.config.fields import setting
from revgnn.config.model import ModelConfig
from revgnn.config.recipe import load_recipe
from revgnn.memory.baselines import PyGDeepGCN, pyg_groupaddrev_gnn
from revgnn.nn.aggr import AGGREGATIONS
from revgnn.utils.registry import resolve_name

__all__ = [
    "AGGR_FAMILIES",
    "MODEL_KINDS",
    "Config",
    "ModelKind",
    "buffer_bytes",
    "build_model",
    "canonical_kind",
    "model_config",
    "num_parameters",
]

#: Aggregations and the family whose calibration constants they use (each aggregator class's
#: ``family``).
AGGR_FAMILIES = {name: cls.family for name, cls in AGGREGATIONS.items()}

_NORMS = ("batch", "layer")


def canonical_kind(kind: str, arg: str = "kind") -> str:
    """The key of :data:`MODEL_KINDS` that ``kind`` spells, in any case and with ``-`` /
    ``_`` as the user likes (``"DeeperGCN"`` -> ``"deepergcn"``); else a ``ValueError``."""
    return resolve_name(kind, MODEL_KINDS, arg)


@dataclass(frozen=True)
class Config:
    r"""One model on one graph: everything the memory of a training step depends on.

    Args:
        kind (str): A key of :data:`MODEL_KINDS`.
        num_layers (int): Depth :math:`L`.
        hidden_channels (int): Width :math:`D`.
        num_groups (int): Groups :math:`C` of a reversible block (ignored by kinds that are not
            grouped).
        num_nodes (int): :math:`N`.
        num_edges (int): :math:`E`.
        in_channels (int): Node feature size.
        out_channels (int): Output size :math:`T` (tasks or classes).
        edge_dim (int, optional): Edge feature size, or ``None``.
        aggr (str): GENConv aggregation (a key of :data:`AGGR_FAMILIES`).
        learn_t (bool): Learn the softmax inverse temperature (one parameter per conv).
        learn_p (bool): Learn the power-mean exponent (one parameter per conv).
        mlp_layers (int): Linear layers of GENConv's MLP.
        norm (str, optional): ``"batch"`` or ``"layer"``, or ``None`` for the kind's default.
        amp (str, optional): ``"bf16"`` or ``"fp16"`` autocast, or ``None`` for fp32.
        multilabel (bool): Targets are an :math:`N \times T` 0/1 matrix (BCE loss) rather
            than :math:`N` class labels (cross-entropy).
        feature_density (float): Share of the node features that are non-zero: below
            :data:`~revgnn.nn.sparse_input.SPARSE_INPUT` the input dropout touches only them.
    """

    kind: str = setting("revgnn", "model kind", cli=False)
    num_layers: int = setting(7, "depth L", cli=False)
    hidden_channels: int = setting(64, "width D", cli=False)
    num_groups: int = setting(2, "groups C of a reversible block", cli=False)
    num_nodes: int = setting(2000, "N, nodes of the graph (or of one mini-batch)", flag="nodes")
    num_edges: int = setting(40000, "E, edges (directed, as in edge_index)", flag="edges")
    in_channels: int = setting(8, "node feature size")
    out_channels: int = setting(112, "outputs (tasks or classes)")
    edge_dim: int | None = setting(8, "edge feature size, or none")
    aggr: str = setting("max", "GENConv aggregation")
    learn_t: bool = setting(False, "learn the softmax inverse temperature")
    learn_p: bool = setting(False, "learn the power-mean exponent")
    mlp_layers: int = setting(2, "linear layers of GENConv's MLP")
    norm: str | None = setting(None, "batch or layer (none: each model's own)")
    amp: str | None = setting(None, "autocast precision", cli=False)
    multilabel: bool = setting(True, "targets are a multi-label matrix (BCE), not class labels")
    feature_density: float = setting(
        1.0,
        "share of the node features that are non-zero (bag-of-words below 0.05 are "
        "encoded through a sparse copy)",
        low=0.0,
        high=1.0,
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", canonical_kind(self.kind))
        if self.aggr in AGGREGATIONS:
            object.__setattr__(self, "aggr", AGGREGATIONS.canonical(self.aggr))
        for name in ("num_layers", "hidden_channels", "num_nodes", "in_channels", "out_channels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1")
        if self.num_edges < 0:
            raise ValueError(f"num_edges={self.num_edges} must be non-negative")
        if self.edge_dim is not None and self.edge_dim < 1:
            raise ValueError(f"edge_dim={self.edge_dim} must be at least 1 (or None)")
        if self.mlp_layers < 1:
            raise ValueError(f"mlp_layers={self.mlp_layers} must be at least 1")
        if self.norm is not None and self.norm not in _NORMS:
            raise ValueError(f"norm={self.norm!r} must be one of {_NORMS} or None")
        if self.amp not in (None, "bf16", "fp16"):
            raise ValueError(f"amp={self.amp!r} must be None, 'bf16' or 'fp16'")
        kind = MODEL_KINDS[self.kind]
        if kind.aggregations and self.aggr not in kind.aggregations:
            raise ValueError(
                f"aggr={self.aggr!r} is not available for kind={self.kind!r}; "
                f"choose one of {', '.join(kind.aggregations)}"
            )
        if self.amp is not None and not kind.autocast:
            raise ValueError(
                f"kind={self.kind!r} cannot train under autocast (amp={self.amp!r}): its "
                "backward pass recomputes the blocks without it and fails; use amp=None"
            )
        if kind.grouped:
            if self.num_groups < 2:
                raise ValueError(f"num_groups={self.num_groups} must be at least 2")
            if self.hidden_channels % self.num_groups:
                raise ValueError(
                    f"num_groups={self.num_groups} must divide "
                    f"hidden_channels={self.hidden_channels}"
                )
        if self.edge_dim is not None and not kind.edge_features:
            raise ValueError(
                f"kind={self.kind!r} reads no edge features: give edge_dim=None, not "
                f"edge_dim={self.edge_dim}"
            )
        if self.group_channels % kind.channel_multiple:
            raise ValueError(
                f"kind={self.kind!r} needs channels per group that are a multiple of "
                f"{kind.channel_multiple} (its attention heads): hidden_channels="
                f"{self.hidden_channels} with num_groups={self.num_groups} gives "
                f"{self.group_channels}"
            )

    @property
    def norm_name(self) -> str | None:
        """The normalisation actually used (``norm`` or the kind's default)."""
        return self.norm or MODEL_KINDS[self.kind].default_norm

    @property
    def group_channels(self) -> int:
        """Channels of one group function: :math:`D / C`, or :math:`D` if not grouped."""
        if MODEL_KINDS[self.kind].grouped:
            return self.hidden_channels // self.num_groups
        return self.hidden_channels

    @property
    def precision(self) -> str:
        return self.amp or "fp32"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_(self, **changes: Any) -> Config:
        """A copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


# Parameter and buffer counts, from models built on the meta device


def _meta_counts(cfg: Config) -> tuple[int, int]:
    with torch.device("meta"):
        model = build_model(cfg)
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    return params, buffers


@functools.lru_cache(maxsize=4096)
def _counts(cfg: Config) -> tuple[int, int]:
    """Parameters and buffer bytes of ``build_model(cfg)``: every block of a kind has the
    same size, so the counts are linear in depth (constant for depth-free kinds), and two
    meta-device builds (1 and 2 layers, no memory, no time) give them at any depth."""
    one = _meta_counts(cfg.with_(num_layers=1))
    if MODEL_KINDS[cfg.kind].depth_free or cfg.num_layers == 1:
        return one
    two = _meta_counts(cfg.with_(num_layers=2))
    layers = cfg.num_layers - 1
    return one[0] + layers * (two[0] - one[0]), one[1] + layers * (two[1] - one[1])


@dataclass(frozen=True)
class ModelKind:
    """One model kind the profiler and the planner know.

    Args:
        label: Its name in tables and plots.
        build: ``build(cfg) -> nn.Module`` with ``forward(x, edge_index, edge_attr=None)``.
        features: The activation features (see the module docstring) its memory depends on.
        grouped: Whether ``num_groups`` applies.
        depth_free: Whether its memory does not depend on ``num_layers`` at all.
        default_norm: Its normalisation when :attr:`Config.norm` is ``None`` (``None``:
            none).
        aggregations: The GENConv aggregations it can build; empty for a kind whose
            convolution has its own (``Config.aggr`` is then ignored).
        channel_multiple: What each group's channels must be a multiple of.
        edge_features: Whether it reads edge features (``Config.edge_dim`` must be ``None``
            otherwise).
        autocast: Whether it trains under autocast (``amp``).
        caveat: What the model of its memory leaves out, printed with its predictions.
    """

    label: str
    build: Callable[[Config], nn.Module]
    features: tuple[str, ...]
    grouped: bool = True
    depth_free: bool = False
    default_norm: str | None = "batch"
    aggregations: tuple[str, ...] = tuple(AGGR_FAMILIES)
    channel_multiple: int = 1
    edge_features: bool = True
    autocast: bool = True
    caveat: str = ""


_REV_FEATURES = ("N*D", "N*D/C", "N*T", "E*D", "E*D/C", "E*D|edge", "E*D/C|edge", "N*D/C*M")
_PLAIN_FEATURES = ("N*D", "N*T", "E*D", "E*D|edge", "L*N*D", "L*E*D", "L*E*D|edge", "L*N*D*M")
# revgnn's own kinds, whose lean aggregation keeps no per-edge tensor: their per-edge memory
# is one group's messages in the block being back-propagated (E*D/C) and the encoded edge
# features (E*D|edge), with nothing per layer (a DeeperGCN layer keeps 9.4 MB at N=3313,
# D=64, with 50,000 edges and with 202,000 alike). The terms the fit could trade against
# these extrapolated badly: +33% (WT-RevGNN) and +17% (DeeperGCN) at ogbn-proteins' size.
_LEAN_REV_FEATURES = ("N*D", "N*D/C", "N*T", "E*D/C", "E*D|edge", "N*D/C*M")
_LEAN_PLAIN_FEATURES = ("N*D", "N*T", "E*D", "E*D|edge", "L*N*D", "L*N*D*M")
_PYG_AGGRS = ("max", "softmax", "softmax_sg", "power", "powermean", "mean", "sum", "add")


def _pyg_kwargs(cfg: Config) -> dict[str, Any]:
    """The arguments of ``cfg``'s PyG peers."""
    return dict(
        edge_dim=cfg.edge_dim,
        aggr=cfg.aggr,
        learn_t=cfg.learn_t,
        learn_p=cfg.learn_p,
        mlp_layers=cfg.mlp_layers,
        norm=cfg.norm_name,
    )


#: The paper recipe whose model each of revgnn's kinds is (its norm, dropout, MLP); the
#: configuration sets the depth, width, groups and the GENConv aggregation. ``None``: the
#: library's default model (:class:`~revgnn.config.ModelConfig`'s defaults).
RECIPES: dict[str, str | None] = {
    "revgnn-gcnii": None,
    "revgnn": "ogbn-proteins/revgnn-deep",
    "wt-revgnn": "ogbn-proteins/wt-revgnn",
    "deq-gnn": "ogbn-proteins/deq-gnn",
    "deepergcn": "ogbn-proteins/deeper-gcn",
    "revgnn-sage": "ogbn-products/revgnn-112",
    "revgat": "ogbn-arxiv/revgat",
}


def model_config(cfg: Config) -> ModelConfig:
    """The :class:`~revgnn.config.ModelConfig` of one of revgnn's kinds."""
    recipe = RECIPES[cfg.kind]
    base = load_recipe(recipe).model if recipe is not None else ModelConfig()
    options = {"aggr": cfg.aggr, "learn_t": cfg.learn_t, "learn_p": cfg.learn_p,
               "mlp_layers": cfg.mlp_layers}  # fmt: skip
    if not MODEL_KINDS[cfg.kind].aggregations:  # its conv's own options, from its recipe
        options = base.conv_options
    return replace(
        base,
        hidden_channels=cfg.hidden_channels,
        num_layers=cfg.num_layers,
        num_groups=cfg.num_groups if MODEL_KINDS[cfg.kind].grouped else base.num_groups,
        conv_options=options,
        norm=cfg.norm_name,
    )


def _build(cfg: Config) -> nn.Module:
    return build_revgnn_model(
        model_config(cfg), cfg.in_channels, cfg.out_channels, cfg.edge_dim, explicit=()
    )


MODEL_KINDS: dict[str, ModelKind] = {
    "revgnn": ModelKind(
        label="RevGNN",
        build=_build,
        features=_LEAN_REV_FEATURES,
    ),
    "wt-revgnn": ModelKind(
        label="WT-RevGNN",
        build=_build,
        features=_LEAN_REV_FEATURES,
        depth_free=True,
    ),
    "deq-gnn": ModelKind(
        label="DEQ-GNN",
        build=_build,
        features=_LEAN_REV_FEATURES,
        depth_free=True,
        default_norm="layer",
    ),
    "deepergcn": ModelKind(
        label="DeeperGCN res+",
        build=_build,
        features=_LEAN_PLAIN_FEATURES,
        grouped=False,
        default_norm="layer",
    ),
    "revgnn-gcnii": ModelKind(
        label="RevGNN-GCNII (default)",
        build=_build,
        # Its convs propagate over one CSR adjacency shared by all blocks (E: its indices,
        # values and cached transpose) and keep nothing per edge and channel. A damped stack's
        # stream snapshots are counted exactly, outside the fit (plan.snapshot_bytes).
        features=("N*D", "N*D/C", "N*T", "E"),
        aggregations=(),
        edge_features=False,
        default_norm=None,
    ),
    "revgnn-sage": ModelKind(
        label="RevGNN-SAGE",
        build=_build,
        features=_LEAN_REV_FEATURES,
        aggregations=(),
        edge_features=False,
    ),
    "revgat": ModelKind(
        label="RevGAT",
        build=_build,
        # LeanGATConv keeps per edge only the attention of its fixed heads and gathers the
        # messages one block of edges at a time: no E x D term without edge features (with
        # them, the model's edge encoder keeps E x D).
        features=("N*D", "N*D/C", "N*T", "E", "E*D/C|block", "E*D|edge", "E*D/C|edge"),
        aggregations=(),
        channel_multiple=3,
    ),
    "pyg-groupaddrev": ModelKind(
        label="PyG GroupAddRev",
        build=lambda c: pyg_groupaddrev_gnn(
            c.in_channels,
            c.hidden_channels,
            c.out_channels,
            c.num_layers,
            num_groups=c.num_groups,
            **_pyg_kwargs(c),
        ),
        features=_REV_FEATURES,
        aggregations=_PYG_AGGRS,
        # Its backward pass re-runs the blocks without autocast: a dtype mismatch.
        autocast=False,
        caveat=(
            "live tensors only: PyG GroupAddRev's process memory (RSS) grows with depth, "
            "by about a block's working set per layer (measured 21 MiB a layer at N=2000, "
            "E=40000, D=64 on CPU: 9.8 GB at 448 layers for 156 MiB of live tensors), so "
            "it does not reach the depth shown"
        ),
    ),
    "pyg-deepgcn": ModelKind(
        label="PyG DeepGCNLayer res+",
        build=lambda c: PyGDeepGCN(
            c.in_channels, c.hidden_channels, c.out_channels, c.num_layers, **_pyg_kwargs(c)
        ),
        features=_PLAIN_FEATURES,
        grouped=False,
        default_norm="layer",
        aggregations=_PYG_AGGRS,
    ),
}


def build_model(cfg: Config) -> nn.Module:
    """The model ``cfg`` describes, freshly initialised."""
    return MODEL_KINDS[cfg.kind].build(cfg)


def num_parameters(cfg: Config) -> int:
    """The parameter count of :func:`build_model(cfg) <build_model>`, from meta-device
    builds (see :func:`_counts`)."""
    return _counts(cfg)[0]


def buffer_bytes(cfg: Config) -> int:
    """The bytes of the buffers of :func:`build_model(cfg) <build_model>` (BatchNorm
    statistics)."""
    return _counts(cfg)[1]
