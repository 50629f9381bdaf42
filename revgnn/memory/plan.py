r"""An analytic memory model of GNN training, and a planner built on it.

The peak memory of one training step (forward, loss, backward, Adam step) is modelled as

.. math::

    M = \underbrace{4P}_{\text{weights}} + \underbrace{4P}_{\text{gradients}}
      + \underbrace{8P}_{\text{Adam}} + B + G + I + S + \sum_k c_k \, \phi_k

with :math:`P` the exact parameter count of the model (:func:`num_parameters`, from models
built on the meta device), :math:`B` its buffers (BatchNorm statistics), :math:`G` the input
graph (node features, edge indices, edge features, targets), :math:`I` what the input
features' dropout keeps (:func:`input_dropout_bytes`), :math:`S` a damped stack's stream
snapshots (:func:`snapshot_bytes`), and :math:`\sum_k c_k \phi_k`
the activations: what the model keeps for the backward pass plus the working set of the block
being back-propagated. The features :math:`\phi_k` are products of the sizes,

* ``N*D``, ``N*D/C``, ``N*T``: per-node tensors of the full width :math:`D`, of one group's
  width :math:`D/C`, and of the output width :math:`T` (head, loss);
* ``E``: per-edge scalars of a fixed count (GAT's attention, a fixed number of heads per
  edge, and the edge indices with self-loops);
* ``E*D``, ``E*D/C``: per-edge tensors (messages, edge embeddings and their gradients);
* ``E*D|edge``, ``E*D/C|edge``: the same, present only with edge features;
* ``E*D/C|block``: one block of a conv that gathers its messages a block of edges at a time
  (:class:`~revgnn.nn.conv.LeanGATConv`): ``E*D/C`` up to
  :data:`~revgnn.nn.conv.gat_conv.BLOCK_ENTRIES`, constant beyond, so constants fitted on
  small graphs hold on large ones;
* ``L*N*D``, ``L*E*D``, ``L*E*D|edge``: what a non-reversible model keeps per layer;
* ``N*D/C*M``, ``L*N*D*M``: the hidden layers of GENConv's MLP, :math:`M` = ``mlp_layers``
  :math:`- 1` (a 2-layer MLP expands to :math:`2D` in between: about 18 bytes per node and
  channel and layer more than a 1-layer MLP, measured), in the block being back-propagated
  and in every layer of a non-reversible model; :math:`M = 0` for kinds whose conv has no
  MLP option;
* ``P``: weights cast to half precision under autocast;

and the coefficients :math:`c_k` (bytes per entry) are **calibration constants**, fitted per
model kind, aggregation family and precision to peaks measured on this library's own code by
:func:`revgnn.profiling.calibration.calibrate` (non-negative least squares on relative error) and
stored as package data (``calibration_cpu.json``, written by ``revgnn plan --calibrate``);
:data:`CALIBRATION_NOTES` says when, where and how well. A reversible model has no ``L*``
feature: its memory depends on depth only through :math:`P`. ``revgnn plan --check``
measures configurations in fresh processes and prints predicted versus measured.

The peak is the CPU peak of live tensor bytes (:func:`revgnn.memory.measure_peak`), which
matches the CUDA allocator's ``max_memory_allocated`` up to the allocator's rounding, plus on
CUDA the cuBLAS workspaces a step allocates (:mod:`revgnn.memory.cuda_workspace`: 65 MiB on an
H100 or H200, which the allocator counts like tensors); the constants were measured on CPU.
A process needs more than that: the framework itself (about 350 MB of RSS for torch and PyG on
CPU; the CUDA context on a GPU) and what the allocator keeps.

What is modelled is the peak of live tensors: what the allocator of a GPU reports. A peer whose
process memory grows beyond its tensors (PyG's ``GroupAddRev``: glibc keeps every block's
backward temporaries) says so in its kind's ``caveat``, which the planner prints. The model
kinds are :data:`~revgnn.memory.kinds.MODEL_KINDS`.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

from revgnn.config.adapt import adapt_model
from revgnn.config.model import ModelConfig
from revgnn.memory.cuda_workspace import step_workspace_bytes
from revgnn.memory.kinds import (
    AGGR_FAMILIES,
    MODEL_KINDS,
    RECIPES,
    Config,
    buffer_bytes,
    model_config,
    num_parameters,
)
from revgnn.nn.conv.gat_conv import BLOCK_ENTRIES
from revgnn.nn.damped_scales import planned_regrids, snapshot_interval, snapshot_layers
from revgnn.nn.sparse_input import SPARSE_INPUT

__all__ = [
    "CALIBRATION",
    "CALIBRATION_FILE",
    "CALIBRATION_NOTES",
    "MemoryEstimate",
    "calibration_key",
    "features",
    "input_dropout_bytes",
    "load_calibration",
    "max_depth",
    "max_width",
    "min_parts",
    "part_sizes",
    "predict",
    "snapshot_bytes",
    "static_bytes",
    "width_multiple",
]

#: The package data holding the constants, written by ``revgnn plan --calibrate``.
CALIBRATION_FILE = Path(__file__).with_name("calibration_cpu.json")


def load_calibration(
    path: str | Path = CALIBRATION_FILE,
) -> tuple[dict[str, dict[str, float]], str]:
    """The constants (bytes per feature entry, per ``kind/aggregation family/precision``) and
    the notes saying how they were measured."""
    with open(path) as f:
        data = json.load(f)
    return data["constants"], data["notes"]


#: Bytes per feature entry, per ``kind/aggregation family/precision``, and how they were
#: obtained.
CALIBRATION, CALIBRATION_NOTES = load_calibration()


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
    extra_mlp = cfg.mlp_layers - 1 if MODEL_KINDS[cfg.kind].aggregations else 0
    every = {
        "N*D": n * d,
        "N*D/C": n * g,
        "N*T": n * t,
        "E": e,
        "E*D": e * d,
        "E*D/C": e * g,
        "E*D|edge": e * d * has_edge,
        "E*D/C|edge": e * g * has_edge,
        "E*D/C|block": min(e, max(1, BLOCK_ENTRIES // max(1, g))) * g,
        "L*N*D": layers * n * d,
        "N*D/C*M": n * g * extra_mlp,
        "L*N*D*M": layers * n * d * extra_mlp,
        "L*E*D": layers * e * d,
        "L*E*D|edge": layers * e * d * has_edge,
    }
    out = {k: float(every[k]) for k in MODEL_KINDS[cfg.kind].features}
    if cfg.amp is not None:
        out["P"] = float(num_parameters(cfg))
    return out


def calibration_key(cfg: Config) -> str:
    """``kind/aggregation family/precision``: which constants of :data:`CALIBRATION` apply."""
    family = AGGR_FAMILIES[cfg.aggr] if MODEL_KINDS[cfg.kind].aggregations else "own"
    return f"{cfg.kind}/{family}/{cfg.precision}"


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
    family = key.split("/")[1]
    for fallback in (f"{cfg.kind}/{family}/fp32", f"{cfg.kind}/softmax/fp32"):
        if fallback in calibration:
            return calibration[fallback], False, fallback
    candidates = [k for k in calibration if k.startswith(cfg.kind + "/")]
    if candidates:
        return calibration[candidates[0]], False, candidates[0]
    return {}, False, ""


@functools.lru_cache(maxsize=64)
def _model(cfg: Config) -> ModelConfig:
    """The resolved :class:`~revgnn.config.ModelConfig` of one of revgnn's kinds (each
    exact term reads it; a planner search predicts many configurations)."""
    return adapt_model(model_config(cfg))


def snapshot_bytes(cfg: Config) -> float:
    """Bytes of the exact stream snapshots a reversible stack keeps between its forward and
    backward passes: one ``N x D`` copy of the stream every ``snapshot_every`` blocks, and for
    a damped stack one where its stream moves to a coarser grid
    (:func:`~revgnn.nn.damped_scales.planned_regrids`: none for the default model's
    ``damping="auto"`` from 33 blocks on); 0 for kinds that are not revgnn's."""
    if cfg.kind not in RECIPES:
        return 0.0
    model = _model(cfg)
    damping = model.damping if isinstance(model.damping, float) else 0.0
    layers = set(snapshot_layers(cfg.num_layers, snapshot_interval(model.snapshot_every)))
    if damping > 0.0 and model.stream_dtype == "float64":
        layers.update(planned_regrids(cfg.num_layers, 1.0 - damping))
    count = len(layers)
    itemsize = 8 if model.stream_dtype == "float64" else 4
    return float(itemsize * count * cfg.num_nodes * cfg.hidden_channels)


def input_dropout_bytes(cfg: Config) -> float:
    """Bytes the input features' dropout keeps for the backward pass: the dropped-out
    features (fp32; the mask is recomputed from its keys, :mod:`revgnn.nn.dropout`), over
    every entry of dense features and over the non-zeros of sparse ones
    (:data:`~revgnn.nn.sparse_input.SPARSE_INPUT`); 0 for kinds
    whose recipe has no input dropout and for kinds that are not revgnn's."""
    if cfg.kind not in RECIPES or _model(cfg).input_dropout == 0.0:
        return 0.0
    entries = cfg.num_nodes * cfg.in_channels
    if cfg.feature_density < SPARSE_INPUT:
        entries *= cfg.feature_density
    return 4.0 * entries


def static_bytes(cfg: Config) -> dict[str, float]:
    """Weights, gradients, Adam's two moments, buffers, the graph, the input dropout's output,
    and a damped stack's stream snapshots (bytes each)."""
    p = num_parameters(cfg)
    return {
        "weights": 4.0 * p,
        "gradients": 4.0 * p,
        "adam": 8.0 * p,
        "buffers": float(buffer_bytes(cfg)),
        "graph": float(graph_bytes(cfg)),
        "input dropout": input_dropout_bytes(cfg),
        "snapshots": snapshot_bytes(cfg),
    }


def predict(
    cfg: Config,
    calibration: dict[str, dict[str, float]] | None = None,
    device: torch.device | str = "cpu",
) -> MemoryEstimate:
    """Predicted peak bytes of one training step of ``cfg`` (Adam, after the first step),
    with the constants of :data:`CALIBRATION` or of ``calibration``, on ``device`` (on CUDA
    with cuBLAS's workspaces, :func:`~revgnn.memory.cuda_workspace.step_workspace_bytes`)."""
    terms = static_bytes(cfg)
    workspaces = step_workspace_bytes(device)
    if workspaces:
        terms["cuBLAS workspaces"] = float(workspaces)
    constants, calibrated, key = _constants(
        cfg, CALIBRATION if calibration is None else calibration
    )
    phi = features(cfg)
    terms["activations"] = sum(constants.get(k, 0.0) * v for k, v in phi.items())
    return MemoryEstimate(sum(terms.values()), terms, calibrated, key)


def max_depth(
    cfg: Config, budget: float, limit: int = 1_000_000, device: torch.device | str = "cpu"
) -> int | None:
    """The largest ``num_layers`` for which ``cfg`` is predicted to fit in ``budget`` bytes
    on ``device``.

    Returns ``0`` if not even one layer fits, ``None`` if the kind's memory does not depend on
    depth and it fits (any depth), and at most ``limit``.
    """

    def fits(layers: int) -> bool:
        return predict(cfg.with_(num_layers=layers), device=device).total <= budget

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
    """Widths the planner considers are multiples of this: 8, and of the groups (times the
    kind's channel multiple)."""
    kind = MODEL_KINDS[cfg.kind]
    c = (cfg.num_groups if kind.grouped else 1) * kind.channel_multiple
    return math.lcm(8, c)


def max_width(
    cfg: Config, budget: float, limit: int = 1 << 16, device: torch.device | str = "cpu"
) -> int:
    """The widest ``hidden_channels`` (a multiple of :func:`width_multiple`) for which
    ``cfg`` (at its depth) is predicted to fit in ``budget`` bytes on ``device``; ``0`` if
    none does."""
    step = width_multiple(cfg)

    def fits(k: int) -> bool:
        return predict(cfg.with_(hidden_channels=k * step), device=device).total <= budget

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


def part_sizes(cfg: Config, parts: int) -> Config:
    r"""``cfg`` on one of ``parts`` parts of its graph: :math:`\lceil N / P \rceil` nodes and
    :math:`\lceil E / P \rceil` edges, what a METIS part keeps at most on average (a random
    part keeps about :math:`E / P^2`)."""
    return cfg.with_(num_nodes=-(-cfg.num_nodes // parts), num_edges=-(-cfg.num_edges // parts))


def min_parts(cfg: Config, budget: float, device: torch.device | str = "cpu") -> int | None:
    """The fewest parts ``P`` of the graph (``revgnn train --parts P``) with which one part
    (:func:`part_sizes`) of ``cfg`` is predicted to fit in ``budget`` bytes on ``device``;
    ``None`` if not even one node a part fits (the model's own state is too large)."""

    def fits(p: int) -> bool:
        return predict(part_sizes(cfg, p), device=device).total <= budget

    n = max(cfg.num_nodes, 1)
    if not fits(n):
        return None
    lo, hi = 0, 1  # not fits(lo) (0: none tried) and fits(hi) once found
    while not fits(hi):
        lo, hi = hi, min(hi * 2, n)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi
