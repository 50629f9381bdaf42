r"""An analytic memory model of GNN training, and a planner built on it.

The peak memory of one training step (forward, loss, backward, Adam step) is modelled as

.. math::

    M = \underbrace{4P}_{\text{weights}} + \underbrace{4P}_{\text{gradients}}
      + \underbrace{8P}_{\text{Adam}} + B + G + \sum_k c_k \, \phi_k

with :math:`P` the exact parameter count of the model (:func:`num_parameters`, a formula per
model kind), :math:`B` its buffers (BatchNorm statistics), :math:`G` the input graph (node
features, edge indices, edge features, targets), and :math:`\sum_k c_k \phi_k` the activations:
what the model keeps for the backward pass plus the working set of the block being
back-propagated. The features :math:`\phi_k` are products of the sizes,

* ``N*D``, ``N*D/C``, ``N*T``: per-node tensors of the full width :math:`D`, of one group's
  width :math:`D/C`, and of the output width :math:`T` (head, loss);
* ``E*D``, ``E*D/C``: per-edge tensors (messages, edge embeddings and their gradients);
* ``E*D|edge``, ``E*D/C|edge``: the same, present only with edge features;
* ``L*N*D``, ``L*E*D``, ``L*E*D|edge``: what a non-reversible model keeps per layer;
* ``P``: weights cast to half precision under autocast;

and the coefficients :math:`c_k` (bytes per entry) are **calibration constants**, fitted per
model kind, aggregation family and precision to peaks measured on this library's own code by
:func:`calibrate` (non-negative least squares on relative error); :data:`CALIBRATION_NOTES`
says when, where and how well. A reversible model has no ``L*`` feature: its memory depends on
depth only through :math:`P`. ``revgnn plan --check`` measures configurations in fresh
processes and prints predicted versus measured.

The peak is the CPU peak of live tensor bytes (:func:`revgnn.memory.measure_peak`), which
matches the CUDA allocator's ``max_memory_allocated`` up to the allocator's rounding; the
constants were measured on CPU. A process needs more than that: the framework itself (about
350 MB of RSS for torch and PyG on CPU; the CUDA context on a GPU) and what the allocator keeps.

Each model kind is one entry of :data:`MODEL_KINDS`: how to build it, its exact parameter and
buffer counts, and the features its activations depend on. Adding a kind is adding an entry.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "CALIBRATION",
    "CALIBRATION_NOTES",
    "MODEL_KINDS",
    "Config",
    "MemoryEstimate",
    "ModelKind",
    "build_model",
    "calibrate",
    "calibration_configs",
    "fit_calibration",
    "fit_errors",
    "max_depth",
    "max_width",
    "num_parameters",
    "parse_bytes",
    "predict",
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


# ---------------------------------------------------------------------------------------------
# Configuration


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


# ---------------------------------------------------------------------------------------------
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


def _rev_params(cfg: Config, blocks: int, group_edge_encoder: bool) -> int:
    """Encoders, ``blocks`` grouped blocks (norm + GENConv per group), norm, head. With
    ``group_edge_encoder`` each group's GENConv maps the shared D-wide edge embedding to its
    D/C channels (revgnn); otherwise it receives a D/C-wide chunk of it (PyG)."""
    g = cfg.group_channels
    enc_in = cfg.hidden_channels if (group_edge_encoder and cfg.edge_dim is not None) else None
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
    return _rev_params(cfg, 1, group_edge_encoder=True) + _norm_params(cfg.hidden_channels)


# ---------------------------------------------------------------------------------------------
# The peers: PyG's own building blocks, assembled as PyG's examples do


class PyGGroupAddRevGNN(nn.Module):
    r"""The peer RevGNN: PyG's :class:`torch_geometric.nn.GroupAddRev` around a pre-activation
    PyG GENConv block, stacked in a Python loop as in PyG's ``examples/rev_gnn.py``.

    One dropout mask per step is passed to every block as a positional argument (the only way
    PyG's reversible function handles dropout correctly); the shared edge embedding
    :math:`(E, D)` is passed positionally too and therefore split into :math:`C` chunks of
    :math:`D/C` channels, as in the authors' original code. The comparison point of
    :mod:`revgnn.profile`.

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int,
        *,
        num_groups: int = 2,
        edge_dim: int | None = None,
        aggr: str = "max",
        learn_t: bool = False,
        learn_p: bool = False,
        mlp_layers: int = 2,
        norm: str = "batch",
        dropout: float = 0.1,
    ) -> None:
        from torch_geometric.nn import GENConv, GroupAddRev

        super().__init__()
        if hidden_channels % num_groups:
            raise ValueError(
                f"num_groups={num_groups} must divide hidden_channels={hidden_channels}"
            )
        self.hidden_channels = hidden_channels
        self.num_groups = num_groups
        self.dropout = dropout
        g = hidden_channels // num_groups
        self.node_encoder = nn.Linear(in_channels, hidden_channels)
        self.edge_encoder = nn.Linear(edge_dim, hidden_channels) if edge_dim else None

        def group_fn() -> nn.Module:
            conv = GENConv(
                g,
                g,
                aggr=aggr,
                learn_t=learn_t,
                learn_p=learn_p,
                norm=norm,
                num_layers=mlp_layers,
                bias=True,
            )
            return _MaskedPreAct(_pyg_norm(norm, g), conv)

        self.layers = nn.ModuleList(
            GroupAddRev(group_fn(), num_groups=num_groups) for _ in range(num_layers)
        )
        self.norm = _pyg_norm(norm, hidden_channels)
        self.head = nn.Linear(hidden_channels, out_channels)

    def reset_parameters(self) -> None:
        for m in (self.node_encoder, self.edge_encoder, self.norm, self.head, *self.layers):
            if m is not None:
                m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        h = self.node_encoder(x)
        keep = 1.0 - self.dropout if self.training else 1.0
        mask = torch.empty_like(h).bernoulli_(keep).div_(keep)
        args = [mask]
        if self.edge_encoder is not None:
            args.append(self.edge_encoder(edge_attr))
        for layer in self.layers:
            h = layer(h, edge_index, *args)
        h = nn.functional.dropout(torch.relu(self.norm(h)), self.dropout, self.training)
        return self.head(h)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.hidden_channels}, num_layers={len(self.layers)}, "
            f"num_groups={self.num_groups})"
        )


def _pyg_norm(norm: str, channels: int) -> nn.Module:
    from torch_geometric.nn.resolver import normalization_resolver

    return normalization_resolver(norm, channels)


class _MaskedPreAct(nn.Module):
    """Norm -> ReLU -> shared dropout mask -> conv (the group function of the PyG peer)."""

    def __init__(self, norm: nn.Module, conv: nn.Module) -> None:
        super().__init__()
        self.norm = norm
        self.conv = conv

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()
        self.conv.reset_parameters()

    def forward(
        self, x: Tensor, edge_index: Tensor, mask: Tensor, edge_attr: Tensor | None = None
    ) -> Tensor:
        return self.conv(torch.relu(self.norm(x)) * mask, edge_index, edge_attr)


class PyGDeepGCN(nn.Module):
    r"""The res+ DeeperGCN assembled from PyG's :class:`torch_geometric.nn.DeepGCNLayer`, as in
    PyG's ``examples/ogbn_proteins_deepgcn.py``: a bare GENConv first layer, then
    ``num_layers - 1`` res+ layers (norm -> ReLU -> dropout -> GENConv, plus the input), then
    norm -> ReLU -> dropout -> linear head. Every layer keeps its activations for the backward
    pass (:math:`O(LND)` memory). A peer of :class:`revgnn.models.DeeperGCN`.

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int,
        *,
        edge_dim: int | None = None,
        aggr: str = "softmax",
        learn_t: bool = False,
        learn_p: bool = False,
        mlp_layers: int = 2,
        norm: str = "layer",
        dropout: float = 0.1,
    ) -> None:
        from torch_geometric.nn import DeepGCNLayer, GENConv

        super().__init__()
        self.hidden_channels = hidden_channels
        self.dropout = dropout
        d = hidden_channels
        self.node_encoder = nn.Linear(in_channels, d)
        self.edge_encoder = nn.Linear(edge_dim, d) if edge_dim else None
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            conv = GENConv(
                d,
                d,
                aggr=aggr,
                learn_t=learn_t,
                learn_p=learn_p,
                norm=norm,
                num_layers=mlp_layers,
                bias=True,
            )
            self.layers.append(DeepGCNLayer(conv, _pyg_norm(norm, d), nn.ReLU(), "res+", dropout))
        self.head = nn.Linear(d, out_channels)

    def reset_parameters(self) -> None:
        for m in (self.node_encoder, self.edge_encoder, self.head, *self.layers):
            if m is not None:
                m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        h = self.node_encoder(x)
        e = self.edge_encoder(edge_attr) if self.edge_encoder is not None else None
        h = self.layers[0].conv(h, edge_index, e)
        for layer in self.layers[1:]:
            h = layer(h, edge_index, e)
        first = self.layers[0]
        h = nn.functional.dropout(first.act(first.norm(h)), self.dropout, self.training)
        return self.head(h)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.hidden_channels}, num_layers={len(self.layers)})"


# ---------------------------------------------------------------------------------------------
# The registry of model kinds


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


_REV_FEATURES = ("N*D", "N*D/C", "N*T", "E*D", "E*D/C", "E*D|edge", "E*D/C|edge")
_PLAIN_FEATURES = ("N*D", "N*T", "E*D", "E*D|edge", "L*N*D", "L*E*D", "L*E*D|edge")
_PYG_AGGRS = ("max", "softmax", "softmax_sg", "power", "powermean", "mean", "sum", "add")


def _gen_kwargs(cfg: Config) -> dict[str, Any]:
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
    from revgnn.models.deeper_gcn import DeeperGCN

    return DeeperGCN(
        cfg.in_channels, cfg.hidden_channels, cfg.out_channels, cfg.num_layers, **_gen_kwargs(cfg)
    )


def _build_deq(cfg: Config) -> nn.Module:
    from revgnn.models.deq_gnn import DEQGNN

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
        num_parameters=lambda c: _rev_params(c, c.num_layers, group_edge_encoder=True),
        buffer_bytes=lambda c: _rev_buffers(c, c.num_layers),
        features=_REV_FEATURES,
    ),
    "wt-revgnn": ModelKind(
        label="WT-RevGNN",
        build=lambda c: _build_revgnn(c, weight_tied=True),
        num_parameters=lambda c: _rev_params(c, 1, group_edge_encoder=True),
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
        build=lambda c: PyGGroupAddRevGNN(
            c.in_channels,
            c.hidden_channels,
            c.out_channels,
            c.num_layers,
            num_groups=c.num_groups,
            **_gen_kwargs(c),
        ),
        num_parameters=lambda c: _rev_params(c, c.num_layers, group_edge_encoder=False),
        buffer_bytes=lambda c: _rev_buffers(c, c.num_layers),
        features=_REV_FEATURES,
        aggregations=_PYG_AGGRS,
        # Its backward pass re-runs the blocks without autocast: a dtype mismatch.
        autocast=False,
    ),
    "pyg-deepgcn": ModelKind(
        label="PyG DeepGCNLayer res+",
        build=lambda c: PyGDeepGCN(
            c.in_channels, c.hidden_channels, c.out_channels, c.num_layers, **_gen_kwargs(c)
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


# ---------------------------------------------------------------------------------------------
# The memory model


def features(cfg: Config) -> dict[str, float]:
    """The activation features of ``cfg`` that its kind's memory depends on (entries)."""
    n, e, d, t, layers = (
        cfg.num_nodes,
        cfg.num_edges,
        cfg.hidden_channels,
        cfg.out_channels,
        cfg.num_layers,
    )
    g = cfg.group_channels
    has_edge = float(cfg.edge_dim is not None)
    every = {
        "N*D": n * d,
        "N*D/C": n * g,
        "N*T": n * t,
        "E*D": e * d,
        "E*D/C": e * g,
        "E*D|edge": e * d * has_edge,
        "E*D/C|edge": e * g * has_edge,
        "L*N*D": layers * n * d,
        "L*E*D": layers * e * d,
        "L*E*D|edge": layers * e * d * has_edge,
    }
    out = {k: float(every[k]) for k in MODEL_KINDS[cfg.kind].features}
    if cfg.amp is not None:
        out["P"] = float(num_parameters(cfg))
    return out


def calibration_key(cfg: Config) -> str:
    """``kind/aggregation family/precision``: which constants of :data:`CALIBRATION` apply."""
    return f"{cfg.kind}/{AGGR_FAMILIES[cfg.aggr]}/{cfg.precision}"


def graph_bytes(cfg: Config) -> int:
    """Bytes of the input graph: fp32 features and targets, int64 edge indices and labels."""
    n, e = cfg.num_nodes, cfg.num_edges
    b = 4 * n * cfg.in_channels + 16 * e
    if cfg.edge_dim is not None:
        b += 4 * e * cfg.edge_dim
    b += 4 * n * cfg.out_channels if cfg.multilabel else 8 * n
    return b


@dataclass
class MemoryEstimate:
    """Predicted peak bytes of a training step.

    ``terms`` holds the bytes of each part (weights, gradients, Adam state, buffers, graph,
    activations); ``calibrated`` says whether constants measured for this kind, aggregation
    family and precision were available (otherwise ``constants`` names the stand-in).
    """

    total: float
    terms: dict[str, float] = field(default_factory=dict)
    calibrated: bool = True
    constants: str = ""


def _constants(
    cfg: Config, calibration: dict[str, dict[str, float]]
) -> tuple[dict[str, float], bool, str]:
    key = calibration_key(cfg)
    if key in calibration:
        return calibration[key], True, key
    family = AGGR_FAMILIES[cfg.aggr]
    for fallback in (f"{cfg.kind}/{family}/fp32", f"{cfg.kind}/softmax/fp32"):
        if fallback in calibration:
            return calibration[fallback], False, fallback
    candidates = [k for k in calibration if k.startswith(cfg.kind + "/")]
    if candidates:
        return calibration[candidates[0]], False, candidates[0]
    return {}, False, ""


def static_bytes(cfg: Config) -> dict[str, float]:
    """Weights, gradients, Adam's two moments, buffers and the graph (bytes each)."""
    kind = MODEL_KINDS[cfg.kind]
    p = kind.num_parameters(cfg)
    return {
        "weights": 4.0 * p,
        "gradients": 4.0 * p,
        "adam": 8.0 * p,
        "buffers": float(kind.buffer_bytes(cfg)),
        "graph": float(graph_bytes(cfg)),
    }


def predict(cfg: Config, calibration: dict[str, dict[str, float]] | None = None) -> MemoryEstimate:
    """Predicted peak bytes of one training step of ``cfg`` (Adam, after the first step),
    with the constants of :data:`CALIBRATION` or of ``calibration``."""
    terms = static_bytes(cfg)
    constants, calibrated, key = _constants(
        cfg, CALIBRATION if calibration is None else calibration
    )
    phi = features(cfg)
    terms["activations"] = sum(constants.get(k, 0.0) * v for k, v in phi.items())
    return MemoryEstimate(sum(terms.values()), terms, calibrated, key)


# ---------------------------------------------------------------------------------------------
# Planning: the deepest and the widest model that fit


def max_depth(cfg: Config, budget: float, limit: int = 1_000_000) -> int | None:
    """The largest ``num_layers`` for which ``cfg`` is predicted to fit in ``budget`` bytes.

    Returns ``0`` if not even one layer fits, ``None`` if the kind's memory does not depend on
    depth and it fits (any depth), and at most ``limit``.
    """

    def fits(layers: int) -> bool:
        return predict(cfg.with_(num_layers=layers)).total <= budget

    if not fits(1):
        return 0
    if MODEL_KINDS[cfg.kind].depth_free:
        return None
    lo, hi = 1, 2
    while hi <= limit and fits(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:  # fits(lo) and not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def width_multiple(cfg: Config) -> int:
    """Widths the planner considers are multiples of this: 8, and of the groups."""
    c = cfg.num_groups if MODEL_KINDS[cfg.kind].grouped else 1
    return 8 * c // math.gcd(8, c)


def max_width(cfg: Config, budget: float, limit: int = 1 << 16) -> int:
    """The widest ``hidden_channels`` (a multiple of :func:`width_multiple`) for which
    ``cfg`` (at its depth) is predicted to fit in ``budget`` bytes; ``0`` if none does."""
    step = width_multiple(cfg)

    def fits(k: int) -> bool:
        return predict(cfg.with_(hidden_channels=k * step)).total <= budget

    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi * step <= limit and fits(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, limit // step + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo * step


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "k": 2**10,
    "m": 2**20,
    "g": 2**30,
    "t": 2**40,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(text: str | float) -> int:
    """``"16GB"`` (10^9), ``"16GiB"`` or ``"16G"`` (2^30), ``"500MB"``, ``"1e9"`` -> bytes."""
    if isinstance(text, (int, float)):
        return int(text)
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if m is None or m.group(2).lower() not in _UNITS:
        raise ValueError(
            f"memory={text!r} is not a size; write e.g. 16GB, 16GiB, 500MB or a byte count"
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_bytes(n: float) -> str:
    """Binary units: ``2.86 GiB``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


# ---------------------------------------------------------------------------------------------
# Calibration


def calibration_configs(
    kind: str, aggr: str = "max", amp: str | None = None, size: int = 14, seed: int = 0
) -> list[Config]:
    """The configurations :func:`calibrate` measures for one kind, aggregation and precision:
    small graphs and models (fast to measure) that vary every feature independently."""
    rng = random.Random(f"{kind}/{aggr}/{amp}/{seed}")
    k = MODEL_KINDS[kind]
    out = []
    while len(out) < size:
        i = len(out)
        groups = rng.choice((2, 3, 4)) if k.grouped else 2
        width = rng.choice((24, 48, 96, 144, 192)) // groups * groups
        if k.grouped and width // groups < 8:
            continue
        nodes = rng.choice((500, 1000, 2000, 3000))
        degree = rng.choice((3, 8, 20, 30))
        # Half the configurations without edge features, and depth varied where it matters.
        depth = rng.choice((2, 4, 8, 16)) if not (k.depth_free or k.grouped) else rng.choice((2, 3))
        out.append(
            Config(
                kind=kind,
                num_layers=depth,
                hidden_channels=width,
                num_groups=groups,
                num_nodes=nodes,
                num_edges=nodes * degree,
                in_channels=rng.choice((8, 64)),
                out_channels=rng.choice((10, 112)),
                edge_dim=8 if i % 2 == 0 else None,
                aggr=aggr,
                amp=amp,
            )
        )
    return out


def _nnls(rows: Sequence[Sequence[float]], targets: Sequence[float]) -> list[float]:
    """Non-negative least squares by active-set elimination (small problems)."""
    a = torch.tensor(rows, dtype=torch.float64)
    b = torch.tensor(targets, dtype=torch.float64).unsqueeze(1)
    active = list(range(a.size(1)))
    coef = [0.0] * a.size(1)
    while active:
        cols = a[:, active]
        scale = cols.abs().amax(0).clamp_min(1e-300)
        sol = torch.linalg.lstsq(cols / scale, b).solution.squeeze(1) / scale
        worst = int(sol.argmin())
        if sol[worst] >= 0:
            for j, v in zip(active, sol.tolist()):
                coef[j] = v
            break
        active.pop(worst)
    return coef


def fit_calibration(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Fit the activation constants to measured records (:func:`revgnn.profile.profile_config`
    output): per calibration key, non-negative least squares of the relative error of
    ``peak_bytes - static_bytes`` against the features."""
    groups: dict[str, list[tuple[dict[str, float], float, float]]] = {}
    for r in records:
        if "peak_bytes" not in r:
            continue
        cfg = Config.from_dict(r["config"])
        target = r["peak_bytes"] - sum(static_bytes(cfg).values())
        groups.setdefault(calibration_key(cfg), []).append(
            (features(cfg), target, float(r["peak_bytes"]))
        )
    out = {}
    for key, rows in sorted(groups.items()):
        names = list(rows[0][0])
        coef = _nnls(
            [[phi[n] / peak for n in names] for phi, _, peak in rows],
            [target / peak for _, target, peak in rows],
        )
        out[key] = {n: round(c, 4) for n, c in zip(names, coef) if c > 0}
    return out


def calibrate(
    kinds: Sequence[str],
    aggrs: Sequence[str] = ("max",),
    amps: Sequence[str | None] = (None,),
    size: int = 14,
    progress: bool = True,
) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
    """Measure :func:`calibration_configs` for every kind, aggregation and precision in this
    process and fit the constants. Returns the constants and the records.

    Peaks are measured relative to the live tensors at the start of each step, so the
    configurations can share one process (the peak RSS they report cannot be compared).
    """
    from tqdm import tqdm

    from revgnn.profile import profile_config

    configs = [
        cfg
        for kind in kinds
        for aggr in aggrs
        for amp in amps
        if aggr in MODEL_KINDS[kind].aggregations and (amp is None or MODEL_KINDS[kind].autocast)
        for cfg in calibration_configs(kind, aggr, amp, size)
    ]
    records = []
    for cfg in tqdm(configs, desc="calibrate", unit="config", disable=not progress):
        records.append(profile_config(cfg, timed_steps=0))
    return fit_calibration(records), records


def fit_errors(
    records: Iterable[dict[str, Any]], calibration: dict[str, dict[str, float]]
) -> dict[str, float]:
    """The worst relative error of the prediction, per calibration key, over ``records``."""
    worst: dict[str, float] = {}
    for r in records:
        if "peak_bytes" not in r:
            continue
        cfg = Config.from_dict(r["config"])
        err = abs(predict(cfg, calibration).total / r["peak_bytes"] - 1)
        key = calibration_key(cfg)
        worst[key] = max(worst.get(key, 0.0), err)
    return worst


def format_calibration(
    constants: dict[str, dict[str, float]], worst: dict[str, float], how: str
) -> str:
    """``constants`` and how they were obtained, as the Python source stored in this module."""
    errors = ", ".join(f"{k} {v:.1%}" for k, v in sorted(worst.items()))
    notes = f"{how} Worst relative error on each calibration set: {errors}."
    prefix = 'CALIBRATION_NOTES = """'
    wrapped = textwrap.fill(
        notes, width=96, initial_indent=" " * len(prefix), break_on_hyphens=False
    ).lstrip()
    return (
        f'CALIBRATION_NOTES = """{wrapped}"""\n\n'
        "CALIBRATION: dict[str, dict[str, float]] = " + json.dumps(constants, indent=4) + "\n"
    )


#: How :data:`CALIBRATION` was obtained.
CALIBRATION_NOTES = """Measured on 2026-11-23 on this project's CPU machine (Linux x86_64, 2
shared cores, torch 2.13.0+cpu, PyG 2.8.1, OMP_NUM_THREADS=1) by `revgnn plan --calibrate` over
the six kinds: aggregations max, softmax, power, mean in fp32, and max, softmax under bf16
autocast (all kinds but pyg-groupaddrev, which cannot train under autocast). Each value is
fitted by fit_calibration to the peak live tensor bytes (revgnn.memory.measure_peak) of the
second training step (Adam) of the 14 configurations of calibration_configs(kind, aggr, amp): N
500-3000, average degree 3-30, D 24-192, C 2-4, 2-3 layers for the reversible kinds and 2-16 for
the others (their depth constants; 2-6 layers were too few: DeeperGCN under bf16 was
over-predicted by 27% at 112 layers), half with 8 edge features. The 476 measurements are in
benchmarks/results/plan_calibration_cpu.json. Worst relative error on each calibration set:
deepergcn/max/bf16 4.9%, deepergcn/max/fp32 3.6%, deepergcn/mean/fp32 8.2%, deepergcn/power/fp32
7.8%, deepergcn/softmax/bf16 4.3%, deepergcn/softmax/fp32 8.0%, deq-gnn/max/bf16 2.9%,
deq-gnn/max/fp32 0.9%, deq-gnn/mean/fp32 1.3%, deq-gnn/power/fp32 1.1%, deq-gnn/softmax/bf16
2.5%, deq-gnn/softmax/fp32 1.5%, pyg-deepgcn/max/bf16 0.9%, pyg-deepgcn/max/fp32 1.7%,
pyg-deepgcn/mean/fp32 3.2%, pyg-deepgcn/power/fp32 8.0%, pyg-deepgcn/softmax/bf16 2.7%,
pyg-deepgcn/softmax/fp32 4.7%, pyg-groupaddrev/max/fp32 0.1%, pyg-groupaddrev/mean/fp32 3.3%,
pyg-groupaddrev/power/fp32 4.4%, pyg-groupaddrev/softmax/fp32 0.9%, revgnn/max/bf16 2.5%,
revgnn/max/fp32 1.6%, revgnn/mean/fp32 1.7%, revgnn/power/fp32 2.3%, revgnn/softmax/bf16 4.2%,
revgnn/softmax/fp32 3.9%, wt-revgnn/max/bf16 4.1%, wt-revgnn/max/fp32 2.5%, wt-revgnn/mean/fp32
1.9%, wt-revgnn/power/fp32 0.9%, wt-revgnn/softmax/bf16 3.5%, wt-revgnn/softmax/fp32 5.4%."""

#: Bytes per feature entry, per ``kind/aggregation family/precision`` (see the module
#: docstring). Generated by ``revgnn plan --calibrate``; see :data:`CALIBRATION_NOTES`.
CALIBRATION: dict[str, dict[str, float]] = {
    "deepergcn/max/bf16": {
        "N*T": 5.5359,
        "E*D": 9.6225,
        "E*D|edge": 6.3782,
        "L*N*D": 21.2806,
        "L*E*D": 0.017,
        "L*E*D|edge": 0.1366,
    },
    "deepergcn/max/fp32": {
        "N*T": 9.987,
        "E*D": 11.9093,
        "E*D|edge": 10.7269,
        "L*N*D": 31.9843,
        "L*E*D": 0.1871,
        "L*E*D|edge": 0.2499,
    },
    "deepergcn/mean/fp32": {
        "N*T": 1.7693,
        "E*D": 11.1653,
        "E*D|edge": 9.8846,
        "L*N*D": 31.9529,
        "L*E*D": 0.1876,
        "L*E*D|edge": 0.3247,
    },
    "deepergcn/power/fp32": {
        "N*T": 2.9567,
        "E*D": 15.8009,
        "E*D|edge": 8.2741,
        "L*N*D": 42.9179,
        "L*E*D": 0.1374,
    },
    "deepergcn/softmax/bf16": {
        "E*D": 13.5039,
        "E*D|edge": 2.9598,
        "L*N*D": 28.561,
        "L*E*D": 0.0669,
    },
    "deepergcn/softmax/fp32": {
        "E*D": 11.228,
        "E*D|edge": 13.239,
        "L*N*D": 40.4062,
        "L*E*D": 0.2663,
        "L*E*D|edge": 0.0662,
    },
    "deq-gnn/max/bf16": {
        "N*D": 97.3481,
        "N*D/C": 19.5405,
        "N*T": 0.9937,
        "E*D/C": 16.0053,
        "E*D|edge": 7.083,
        "P": 0.4772,
    },
    "deq-gnn/max/fp32": {
        "N*D": 97.1098,
        "N*D/C": 35.6491,
        "E*D": 0.4343,
        "E*D/C": 14.3343,
        "E*D|edge": 14.4902,
    },
    "deq-gnn/mean/fp32": {
        "N*D": 96.1156,
        "N*D/C": 26.864,
        "N*T": 0.2466,
        "E*D": 0.103,
        "E*D/C": 15.7796,
        "E*D|edge": 14.5815,
    },
    "deq-gnn/power/fp32": {
        "N*D": 96.8905,
        "N*D/C": 41.648,
        "N*T": 0.4239,
        "E*D": 0.4541,
        "E*D/C": 19.0996,
        "E*D|edge": 14.0684,
    },
    "deq-gnn/softmax/bf16": {
        "N*D": 100.6949,
        "N*D/C": 13.8734,
        "N*T": 1.6982,
        "E*D/C": 20.0747,
        "E*D|edge": 5.3493,
    },
    "deq-gnn/softmax/fp32": {
        "N*D": 96.0629,
        "N*D/C": 34.4359,
        "N*T": 0.5247,
        "E*D": 0.1005,
        "E*D/C": 19.7605,
        "E*D|edge": 13.6087,
    },
    "pyg-deepgcn/max/bf16": {
        "N*T": 0.7394,
        "E*D": 16.0063,
        "E*D|edge": 0.5584,
        "L*N*D": 29.012,
        "L*E*D": 8.0627,
    },
    "pyg-deepgcn/max/fp32": {
        "N*T": 0.5924,
        "E*D": 19.939,
        "E*D|edge": 0.4068,
        "L*N*D": 39.239,
        "L*E*D": 8.2216,
    },
    "pyg-deepgcn/mean/fp32": {
        "N*T": 0.1235,
        "E*D": 7.1857,
        "E*D|edge": 6.9672,
        "L*N*D": 28.3688,
        "L*E*D": 4.2296,
        "L*E*D|edge": 0.096,
    },
    "pyg-deepgcn/power/fp32": {
        "N*T": 1.4476,
        "E*D": 6.6836,
        "E*D|edge": 5.3464,
        "L*N*D": 31.3684,
        "L*E*D": 4.2782,
        "L*E*D|edge": 0.2184,
    },
    "pyg-deepgcn/softmax/bf16": {"E*D": 3.6149, "L*N*D": 17.1329, "L*E*D": 20.7035},
    "pyg-deepgcn/softmax/fp32": {"N*T": 9.003, "E*D": 9.4728, "L*N*D": 28.2646, "L*E*D": 21.2318},
    "pyg-groupaddrev/max/fp32": {
        "N*D": 51.592,
        "N*D/C": 0.1318,
        "E*D": 8.0197,
        "E*D/C": 20.9538,
        "E*D|edge": 7.9936,
    },
    "pyg-groupaddrev/mean/fp32": {
        "N*D": 38.13,
        "N*T": 0.6188,
        "E*D": 4.2862,
        "E*D/C": 7.1788,
        "E*D|edge": 8.3613,
        "E*D/C|edge": 2.735,
    },
    "pyg-groupaddrev/power/fp32": {
        "N*D": 40.4675,
        "E*D": 4.562,
        "E*D/C": 5.841,
        "E*D|edge": 7.5608,
        "E*D/C|edge": 4.1787,
    },
    "pyg-groupaddrev/softmax/fp32": {
        "N*D": 37.456,
        "N*T": 0.1373,
        "E*D": 20.623,
        "E*D/C": 14.0728,
        "E*D|edge": 8.1256,
    },
    "revgnn/max/bf16": {
        "N*D": 30.2634,
        "N*D/C": 24.0909,
        "N*T": 1.9918,
        "E*D": 0.1988,
        "E*D/C": 15.4401,
        "E*D|edge": 6.9892,
        "P": 2.5011,
    },
    "revgnn/max/fp32": {
        "N*D": 28.9381,
        "N*D/C": 42.8513,
        "E*D": 0.5784,
        "E*D/C": 13.9288,
        "E*D|edge": 14.7877,
    },
    "revgnn/mean/fp32": {
        "N*D": 31.8444,
        "N*D/C": 29.2698,
        "N*T": 0.5572,
        "E*D": 0.4619,
        "E*D/C": 14.8631,
        "E*D|edge": 14.5139,
    },
    "revgnn/power/fp32": {
        "N*D": 28.2372,
        "N*D/C": 51.2782,
        "E*D": 0.759,
        "E*D/C": 18.9104,
        "E*D|edge": 14.3607,
    },
    "revgnn/softmax/bf16": {
        "N*D": 40.6666,
        "N*D/C": 5.5229,
        "N*T": 1.0113,
        "E*D": 0.0613,
        "E*D/C": 19.37,
        "E*D|edge": 5.4276,
    },
    "revgnn/softmax/fp32": {
        "N*D": 28.5464,
        "N*D/C": 46.4394,
        "E*D": 0.4671,
        "E*D/C": 18.5449,
        "E*D|edge": 13.1471,
    },
    "wt-revgnn/max/bf16": {
        "N*D": 38.3643,
        "N*T": 2.4506,
        "E*D/C": 16.0225,
        "E*D|edge": 7.0249,
        "P": 8.3277,
    },
    "wt-revgnn/max/fp32": {
        "N*D": 33.5183,
        "N*D/C": 26.6746,
        "E*D": 0.0391,
        "E*D/C": 15.9647,
        "E*D|edge": 14.6927,
    },
    "wt-revgnn/mean/fp32": {
        "N*D/C": 97.5196,
        "N*T": 2.0431,
        "E*D": 7.6946,
        "E*D/C": 0.3024,
        "E*D|edge": 9.569,
        "E*D/C|edge": 8.8215,
    },
    "wt-revgnn/power/fp32": {
        "N*D": 34.7665,
        "N*D/C": 30.1014,
        "E*D": 0.0479,
        "E*D/C": 21.1031,
        "E*D|edge": 14.5155,
    },
    "wt-revgnn/softmax/bf16": {
        "N*D": 31.9733,
        "N*D/C": 25.8781,
        "N*T": 0.7657,
        "E*D": 0.4953,
        "E*D/C": 18.2095,
        "E*D|edge": 5.6097,
        "P": 2.5217,
    },
    "wt-revgnn/softmax/fp32": {
        "N*D": 45.4044,
        "N*T": 3.5956,
        "E*D/C": 19.8685,
        "E*D|edge": 13.0694,
    },
}
