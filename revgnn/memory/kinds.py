r"""The model kinds the profiler and the planner know, and their exact parameter counts.

Each kind is one entry of :data:`MODEL_KINDS` (:class:`ModelKind`): how to build it from a
:class:`Config`, its exact parameter and buffer counts (a formula, tested against the built
model), and the activation features its memory depends on (:mod:`revgnn.memory.plan`).
Adding a kind is adding an entry.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from torch import nn

from revgnn.memory.baselines import PyGDeepGCN, pyg_groupaddrev_gnn

__all__ = [
    "AGGR_FAMILIES",
    "MODEL_KINDS",
    "Config",
    "ModelKind",
    "build_model",
    "num_parameters",
]

#: Aggregations and the family whose calibration constants they use.
AGGR_FAMILIES = {
    "max": "max",
    "softmax": "softmax",
    "softmax_sg": "softmax",
    "softmax_sum": "softmax",
    "power": "power",
    "powermean": "power",
    "power_sum": "power",
    "mean": "mean",
    "sum": "mean",
    "add": "mean",
}

_NORMS = ("batch", "layer")


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
    """

    kind: str
    num_layers: int
    hidden_channels: int
    num_groups: int = 2
    num_nodes: int = 2000
    num_edges: int = 40000
    in_channels: int = 8
    out_channels: int = 112
    edge_dim: int | None = 8
    aggr: str = "max"
    learn_t: bool = False
    learn_p: bool = False
    mlp_layers: int = 2
    norm: str | None = None
    amp: str | None = None
    multilabel: bool = True

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind={self.kind!r} is not one of {', '.join(MODEL_KINDS)}")
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
        if self.aggr not in kind.aggregations:
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

    @property
    def norm_name(self) -> str:
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


# Exact parameter and buffer counts, layer by layer


def _norm_params(channels: int) -> int:
    return 2 * channels  # weight and bias, for BatchNorm and LayerNorm alike


def _norm_buffer_bytes(norm: str, channels: int) -> int:
    # BatchNorm: running mean and variance (fp32) and num_batches_tracked (int64).
    return 8 * channels + 8 if norm == "batch" else 0


def _linear(fan_in: int, fan_out: int) -> int:
    return fan_in * fan_out + fan_out


def _mlp_widths(channels: int, mlp_layers: int) -> list[int]:
    # GENConv's MLP: channels -> 2*channels (mlp_layers - 1 times) -> channels, a norm after
    # every hidden layer.
    return [channels] + [2 * channels] * (mlp_layers - 1) + [channels]


def _genconv_params(cfg: Config, channels: int, edge_encoder_in: int | None) -> int:
    """GENConv on ``channels`` with bias; ``edge_encoder_in``: fan-in of its edge encoder."""
    widths = _mlp_widths(channels, cfg.mlp_layers)
    n = sum(_linear(a, b) for a, b in itertools.pairwise(widths))
    n += sum(_norm_params(w) for w in widths[1:-1])
    if edge_encoder_in is not None:
        n += _linear(edge_encoder_in, channels)
    family = AGGR_FAMILIES[cfg.aggr]
    if (family == "softmax" and cfg.learn_t) or (family == "power" and cfg.learn_p):
        n += 1
    return n


def _genconv_buffer_bytes(cfg: Config, channels: int) -> int:
    widths = _mlp_widths(channels, cfg.mlp_layers)
    return sum(_norm_buffer_bytes(cfg.norm_name, w) for w in widths[1:-1])


def _io_params(cfg: Config) -> int:
    """Node encoder, shared edge encoder, output norm and head."""
    d = cfg.hidden_channels
    n = _linear(cfg.in_channels, d) + _linear(d, cfg.out_channels) + _norm_params(d)
    if cfg.edge_dim is not None:
        n += _linear(cfg.edge_dim, d)
    return n


def _rev_params(cfg: Config, blocks: int) -> int:
    """Encoders, ``blocks`` grouped blocks (norm + GENConv per group), norm, head; each
    group's GENConv maps the shared D-wide edge embedding to its D/C channels."""
    g = cfg.group_channels
    enc_in = cfg.hidden_channels if cfg.edge_dim is not None else None
    block = cfg.num_groups * (_norm_params(g) + _genconv_params(cfg, g, enc_in))
    return _io_params(cfg) + blocks * block


def _rev_buffers(cfg: Config, blocks: int) -> int:
    g, norm = cfg.group_channels, cfg.norm_name
    block = cfg.num_groups * (_norm_buffer_bytes(norm, g) + _genconv_buffer_bytes(cfg, g))
    return _norm_buffer_bytes(norm, cfg.hidden_channels) + blocks * block


def _deepergcn_params(cfg: Config) -> int:
    # A bare GENConv first layer, then L-1 res+ blocks (norm + GENConv); each GENConv encodes
    # the shared edge embedding with its own Linear(D, D) (encode_edge=True).
    d = cfg.hidden_channels
    enc_in = d if cfg.edge_dim is not None else None
    conv = _genconv_params(cfg, d, enc_in)
    return _io_params(cfg) + cfg.num_layers * conv + (cfg.num_layers - 1) * _norm_params(d)


def _deepergcn_buffers(cfg: Config) -> int:
    d, norm = cfg.hidden_channels, cfg.norm_name
    conv = _genconv_buffer_bytes(cfg, d)
    return (
        _norm_buffer_bytes(norm, d)
        + cfg.num_layers * conv
        + (cfg.num_layers - 1) * _norm_buffer_bytes(norm, d)
    )


def _pyg_deepgcn_params(cfg: Config) -> int:
    # Every DeepGCNLayer has a norm (the first layer's is used before the head); GENConv gets
    # the D-wide edge embedding directly (no edge encoder of its own).
    d = cfg.hidden_channels
    layer = _norm_params(d) + _genconv_params(cfg, d, None)
    return _io_params(cfg) - _norm_params(d) + cfg.num_layers * layer


def _pyg_deepgcn_buffers(cfg: Config) -> int:
    d, norm = cfg.hidden_channels, cfg.norm_name
    return cfg.num_layers * (_norm_buffer_bytes(norm, d) + _genconv_buffer_bytes(cfg, d))


def _deq_params(cfg: Config) -> int:
    # The weight-tied reversible block plus the equilibrium cell's LayerNorm.
    return _rev_params(cfg, 1) + _norm_params(cfg.hidden_channels)


@dataclass(frozen=True)
class ModelKind:
    """One model kind the profiler and the planner know.

    Args:
        label: Its name in tables and plots.
        build: ``build(cfg) -> nn.Module`` with ``forward(x, edge_index, edge_attr=None)``.
        num_parameters: The exact parameter count of ``build(cfg)``.
        buffer_bytes: The bytes of its buffers.
        features: The activation features (see the module docstring) its memory depends on.
        grouped: Whether ``num_groups`` applies.
        depth_free: Whether its memory does not depend on ``num_layers`` at all.
        default_norm: Its normalisation when :attr:`Config.norm` is ``None``.
        aggregations: The aggregations it can build.
        autocast: Whether it trains under autocast (``amp``).
        caveat: What the model of its memory leaves out, printed with its predictions.
    """

    label: str
    build: Callable[[Config], nn.Module]
    num_parameters: Callable[[Config], int]
    buffer_bytes: Callable[[Config], int]
    features: tuple[str, ...]
    grouped: bool = True
    depth_free: bool = False
    default_norm: str = "batch"
    aggregations: tuple[str, ...] = tuple(AGGR_FAMILIES)
    autocast: bool = True
    caveat: str = ""


_REV_FEATURES = ("N*D", "N*D/C", "N*T", "E*D", "E*D/C", "E*D|edge", "E*D/C|edge")
_PLAIN_FEATURES = ("N*D", "N*T", "E*D", "E*D|edge", "L*N*D", "L*E*D", "L*E*D|edge")
_PYG_AGGRS = ("max", "softmax", "softmax_sg", "power", "powermean", "mean", "sum", "add")


def _gen_kwargs(cfg: Config) -> dict[str, Any]:
    """The model arguments of ``cfg``'s GENConv blocks."""
    return dict(
        edge_dim=cfg.edge_dim,
        conv_kwargs={
            "aggr": cfg.aggr,
            "learn_t": cfg.learn_t,
            "learn_p": cfg.learn_p,
            "mlp_layers": cfg.mlp_layers,
        },
        norm=cfg.norm_name,
    )


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


def _build_revgnn(cfg: Config, weight_tied: bool) -> nn.Module:
    from revgnn.models import RevGNN

    return RevGNN(
        cfg.in_channels,
        cfg.hidden_channels,
        cfg.out_channels,
        cfg.num_layers,
        num_groups=cfg.num_groups,
        weight_tied=weight_tied,
        **_gen_kwargs(cfg),
    )


def _build_deepergcn(cfg: Config) -> nn.Module:
    from revgnn.models import DeeperGCN

    return DeeperGCN(
        cfg.in_channels, cfg.hidden_channels, cfg.out_channels, cfg.num_layers, **_gen_kwargs(cfg)
    )


def _build_deq(cfg: Config) -> nn.Module:
    from revgnn.models import DEQGNN

    return DEQGNN(
        cfg.in_channels,
        cfg.hidden_channels,
        cfg.out_channels,
        cfg.num_layers,
        num_groups=cfg.num_groups,
        **_gen_kwargs(cfg),
    )


MODEL_KINDS: dict[str, ModelKind] = {
    "revgnn": ModelKind(
        label="RevGNN",
        build=lambda c: _build_revgnn(c, weight_tied=False),
        num_parameters=lambda c: _rev_params(c, c.num_layers),
        buffer_bytes=lambda c: _rev_buffers(c, c.num_layers),
        features=_REV_FEATURES,
    ),
    "wt-revgnn": ModelKind(
        label="WT-RevGNN",
        build=lambda c: _build_revgnn(c, weight_tied=True),
        num_parameters=lambda c: _rev_params(c, 1),
        buffer_bytes=lambda c: _rev_buffers(c, 1),
        features=_REV_FEATURES,
        depth_free=True,
    ),
    "deq-gnn": ModelKind(
        label="DEQ-GNN",
        build=_build_deq,
        num_parameters=_deq_params,
        buffer_bytes=lambda c: _rev_buffers(c, 1),
        features=_REV_FEATURES,
        depth_free=True,
        default_norm="layer",
    ),
    "deepergcn": ModelKind(
        label="DeeperGCN res+",
        build=_build_deepergcn,
        num_parameters=_deepergcn_params,
        buffer_bytes=_deepergcn_buffers,
        features=_PLAIN_FEATURES,
        grouped=False,
        default_norm="layer",
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
        num_parameters=lambda c: _rev_params(c, c.num_layers),
        buffer_bytes=lambda c: _rev_buffers(c, c.num_layers),
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
        num_parameters=_pyg_deepgcn_params,
        buffer_bytes=_pyg_deepgcn_buffers,
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
    """The parameter count of :func:`build_model(cfg) <build_model>`, from the formula."""
    return MODEL_KINDS[cfg.kind].num_parameters(cfg)
