"""What a model is: the settings of the node models and of the point-cloud models.

:class:`ModelConfig` describes the node models (RevGNN, WT-RevGNN, DEQ-GNN, DeeperGCN),
:class:`PointModelConfig` the point-cloud models (DeepGCN, PointNet). Their defaults are the
library's defaults: the model builders have none of their own, and every command's flags are
generated from these fields (:mod:`revgnn.config.flags`). A setting the chosen model does not
use is refused when it was set (:meth:`ModelConfig.unused`). ``conv_options`` are the options
of the chosen convolution, whose defaults are the conv's own (its builder's signature).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, fields
from typing import Any

from revgnn.config.fields import AUTO, setting, validate
from revgnn.models.deep_gcn import BACKBONES
from revgnn.models.deq_gnn import CELLS
from revgnn.models.registry import MODELS
from revgnn.nn.aggr import AGGREGATIONS, aggregation_options
from revgnn.nn.conv.point_conv import POINT_CONVS
from revgnn.nn.conv.registry import CONVS, conv_resolver
from revgnn.nn.deep_gcn_block import BLOCKS, GATED_BLOCKS
from revgnn.nn.deq import DEQ
from revgnn.nn.deq.deq import GRAD_MODES
from revgnn.solvers import available_solvers

__all__ = [
    "DAMPED_TIME",
    "DEEP",
    "DIFFUSION_TIME",
    "FADED_START",
    "MAX_AUTO_DAMPING",
    "MODEL_CONVS",
    "SPARSE_LABELS",
    "ModelConfig",
    "PointModelConfig",
]

#: From this depth on, ``"auto"`` settings take the deep recipe (see :mod:`revgnn.config.adapt`).
DEEP = 16

#: ``branch_scale="auto"`` of an initial-residual conv is this over the depth: the stream then
#: propagates for the same total "time" at every depth (see :mod:`revgnn.config.adapt`).
DIFFUSION_TIME = 4.0

#: The convolution of ``conv="auto"``, by model (any other model: ``"gen"``).
MODEL_CONVS = {"revgnn": "gcnii", "wt-revgnn": "gcnii"}

#: ``damping="auto"`` of an initial-residual conv is this over the depth on graphs with sparse
#: labels: each block steps ``DAMPED_TIME / num_layers`` towards the branch's fixed point;
#: :data:`DIFFUSION_TIME` over the depth on the others (see :mod:`revgnn.config.adapt`).
DAMPED_TIME = 16.0

#: A graph has sparse labels when fewer than this share of its nodes are training labels.
SPARSE_LABELS = 0.25

#: ``stream_init="auto"`` of an initial-residual conv starts the stream at the encoded input
#: where a damped stack fades its start below this at the head, ``(1 - damping) ** layers``;
#: at zero otherwise (see :func:`revgnn.config.adapt.stream_init_rule`).
FADED_START = 1e-3

#: The largest ``damping="auto"``: shallower stacks, which would need longer steps to
#: propagate for :data:`DAMPED_TIME`, keep the additive coupling.
MAX_AUTO_DAMPING = 0.5

_DEQ = {n: p.default for n, p in inspect.signature(DEQ).parameters.items()}
_PROB = {"low": 0.0, "high": 1.0, "high_open": True}


def default_conv(model: str) -> str:
    """The conv of ``conv="auto"`` for ``model``."""
    return MODEL_CONVS.get(model, "gen")


def _family(name: str) -> str:
    return MODELS.entry(name).info["family"]


@dataclass(frozen=True)
class ModelConfig:
    """The settings of a node model (see the module docstring).

    Each field's help is in :func:`dataclasses.fields` metadata and on ``revgnn train
    --help``; ``"auto"`` values are filled in from the depth and the graph by
    :func:`revgnn.config.adapt.adapt`.
    """

    model: str = setting(
        "revgnn", "the model", names=lambda: [n for n in MODELS.names() if _family(n) == "node"]
    )
    hidden_channels: int = setting(64, "width of the residual stream", flag="hidden", low=1)
    num_layers: int = setting(16, "depth: the number of blocks", flag="layers", low=1)
    num_groups: int = setting(2, "groups of a reversible block", flag="groups", low=2)
    conv: str = setting(
        AUTO,
        "the blocks' graph convolution; auto: gcnii for the reversible models (initial residual "
        "and identity mapping), gen for the others",
        names=lambda: CONVS.names(),
    )
    conv_options: dict[str, Any] = setting({}, "options of the convolution", cli=False)
    norm: str | None = setting(None, "normalisation of the blocks: batch, layer, ... none")
    dropout: float = setting(0.6, "dropout inside the blocks and before the head", **_PROB)
    input_dropout: float = setting(0.6, "dropout on the input features", **_PROB)
    edge_dropout: float = setting(0.0, "DropEdge probability in every block", **_PROB)
    shared_dropout: bool = setting(
        False, "one dropout mask per step for all blocks (RevGNN's; off: one per block)"
    )
    branch_gate: float | str | None = setting(
        AUTO,
        "learnable gate on every block's branch, starting at this value (0: ReZero); auto: 0 "
        f"from {DEEP} layers on for convs without an initial residual, none otherwise",
    )
    branch_scale: float | str | None = setting(
        AUTO,
        "fixed factor on every block's branch; auto: "
        f"{DIFFUSION_TIME:g} / layers for initial-residual convs (a depth-independent "
        "propagation), or the damping if set; none otherwise",
    )
    stream_init: str = setting(
        AUTO,
        "the reversible stream's start: input (the encoded features) or zero (they enter "
        "through the convs' initial residual only); auto: zero for initial-residual convs, "
        f"except in a damped stack that fades its start below {FADED_START:g} at the head; "
        "input for other convs",
        choices=(AUTO, "input", "zero"),
    )
    head_bias: str = setting(
        AUTO,
        "the output layer's bias at the start: prior (the training labels' log-odds or log "
        "class frequencies) or init (the layer's own initialisation); auto: prior for "
        "multi-label and binary node tasks, init otherwise",
        choices=(AUTO, "prior", "init"),
    )
    block: str = setting("res+", "DeeperGCN's layer kind", choices=BLOCKS)
    deq_cell: str = setting(
        "rev", "DEQ-GNN's cell: rev (grouped reversible) or res+", choices=CELLS
    )
    stream_dtype: str = setting(
        "float64", "dtype of the reversible residual stream", choices=("float64", "float32")
    )
    snapshot_every: int | None = setting(
        None, "exact stream snapshots every k blocks (a damped stack: automatic)", low=1
    )
    damping: float | str = setting(
        AUTO,
        "damped reversible coupling X' = (1 - d) X + f; with branch_scale d (auto's choice) "
        "each block steps towards the branch's fixed point; 0: RevGNN's additive coupling; "
        f"auto: for initial-residual convs from {DAMPED_TIME / MAX_AUTO_DAMPING:g} layers on, "
        f"{DAMPED_TIME:g} / layers where fewer than {SPARSE_LABELS:g} of the nodes are training "
        f"labels, {DIFFUSION_TIME:g} / layers otherwise; 0 below and for other convs",
        **_PROB,
    )
    warmup_epochs: int = setting(0, "DEQ-GNN: epochs trained unrolled first", low=0)
    solver: str = setting(_DEQ["solver"], "DEQ-GNN: forward solver", names=available_solvers)
    max_iter: int = setting(_DEQ["max_iter"], "DEQ-GNN: forward solver iterations", low=1)
    tol: float = setting(_DEQ["tol"], "DEQ-GNN: forward relative tolerance", low=0.0)
    grad: str = setting(_DEQ["grad"], "DEQ-GNN: implicit or phantom gradients", choices=GRAD_MODES)
    backward_solver: str | None = setting(
        None, "DEQ-GNN: adjoint solver (none: --solver)", names=available_solvers
    )
    backward_max_iter: int | None = setting(None, "DEQ-GNN: adjoint iterations", low=1)
    backward_tol: float | None = setting(None, "DEQ-GNN: adjoint tolerance", low=0.0)
    phantom_steps: int = setting(_DEQ["phantom_steps"], "DEQ-GNN: phantom steps", low=1)
    phantom_tau: float = setting(
        _DEQ["phantom_tau"], "DEQ-GNN: phantom damping", low=0.0, high=1.0, low_open=True
    )
    jac_reg_weight: float = setting(_DEQ["jac_reg_weight"], "DEQ-GNN: Jacobian reg.", low=0.0)
    jac_reg_samples: int = setting(_DEQ["jac_reg_samples"], "DEQ-GNN: its probes", low=1)

    def __post_init__(self) -> None:
        validate(self)
        aggr = self.conv_options.get("aggr")
        if isinstance(aggr, str):
            options = {**self.conv_options, "aggr": AGGREGATIONS.canonical(aggr)}
            object.__setattr__(self, "conv_options", options)
        spec = conv_resolver(self.resolved_conv) if isinstance(self.conv, str) else None
        if spec is not None:
            unknown = [k for k in self.conv_options if not spec.accepts(k)]
            if unknown:
                known = ", ".join(spec.options) or "none"
                raise ValueError(
                    f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not an option "
                    f"of conv={self.resolved_conv!r} (its options: {known})"
                )
        grouped = self.model in ("revgnn", "wt-revgnn") or (
            self.model == "deq-gnn" and self.deq_cell == "rev"
        )
        if grouped and self.hidden_channels % self.num_groups:
            raise ValueError(
                f"num_groups={self.num_groups} must divide hidden_channels={self.hidden_channels}"
            )

    @property
    def resolved_conv(self) -> Any:
        """``conv`` with ``"auto"`` resolved: the model's own (:data:`MODEL_CONVS`)."""
        return default_conv(self.model) if self.conv == AUTO else self.conv

    @property
    def conv_spec(self) -> Any:
        return conv_resolver(self.resolved_conv)

    @property
    def gated(self) -> bool:
        """Whether ``branch_gate`` has a branch to gate: the block setting of DeeperGCN leaves
        none in its dense / plain layers (the reversible models' groups are all residual)."""
        return self.model != "deeper-gcn" or self.block in GATED_BLOCKS

    def unused(self) -> dict[str, str]:
        """The settings the chosen model and conv do not use, and why (setting one of them
        is an error; see :func:`revgnn.config.recipe.check_used`)."""
        entry = MODELS.entry(self.model)
        out = {}
        for f in fields(self):
            # head_bias is applied to the built model's head by the experiment, which knows
            # the labels (revgnn.training.experiment), not by the builder.
            if f.name in ("model", "conv_options", "head_bias"):
                continue
            if not entry.accepts(f.name, 3):
                users = [n for n in MODELS.names() if _family(n) == "node"
                         and MODELS.entry(n).accepts(f.name, 3)]  # fmt: skip
                out[f.name] = f"--model {self.model} (only --model {', '.join(users)} use it)"
        if self.model == "deq-gnn" and self.deq_cell != "rev":
            out["num_groups"] = f"--deq-cell {self.deq_cell} (the reversible cell has groups)"
        if not self.gated and self.branch_gate not in (AUTO, None):  # None: no gate, as theirs
            out["branch_gate"] = f"--block {self.block} (only res+ and res blocks have a branch)"
        aggr = self.conv_options.get("aggr", self.conv_spec.options.get("aggr"))
        if isinstance(aggr, str) and aggr in _aggr_names():
            reads = aggregation_options(aggr)
            for option in _AGGR_OPTIONS:
                if option not in reads:
                    users = [a for a in _aggr_names() if option in aggregation_options(a)]
                    out[f"conv_options.{option}"] = (
                        f"--aggr {aggr} (it applies to {', '.join(users)})"
                    )
        return out


_AGGR_OPTIONS = ("t", "learn_t", "p", "learn_p", "y", "learn_y")


def _aggr_names() -> list[str]:
    return AGGREGATIONS.names()


@dataclass(frozen=True)
class PointModelConfig:
    """The settings of a point-cloud model: a DeepGCN (Plain / Res / Dense / reversible
    ResGCN) or the PointNet baseline (see the module docstring). ``task`` picks the head; the
    DeepGCN recipes of :mod:`revgnn.config.recipes` set the published ones."""

    model: str = setting(
        "deepgcn", "the model", names=lambda: [n for n in MODELS.names() if _family(n) == "point"]
    )
    task: str = setting(
        "classification",
        "the head",
        choices=("segmentation", "part", "classification", "node"),
        cli=False,
    )
    num_layers: int = setting(28, "layers, the stem included (ResGCN-28: 28)", low=2)
    hidden_channels: int = setting(64, "width of every block", flag="channels", low=1)
    backbone: str = setting("res", "the backbone (rev: reversible ResGCN)", choices=BACKBONES)
    conv: str = setting("edge", "the graph convolution", names=lambda: POINT_CONVS.names())
    k: int = setting(9, "neighbours per point", low=1)
    dilated: bool = setting(True, "dilation 1 + i at block i")
    max_dilation: int | None = setting(None, "cap on the dilation (none: the reference's)", low=1)
    stochastic: bool = setting(True, "stochastic dilation in training")
    epsilon: float = setting(0.2, "its probability", **_PROB)
    norm: str | None = setting("batch", "normalisation of the MLPs")
    head_bias: bool = setting(False, "bias of the stem conv's MLP")
    knn_channels: int = setting(3, "input channels the stem's graph is built from (xyz)", low=1)
    emb_dims: int = setting(1024, "width of the fusion", low=1)
    dropout: float = setting(0.5, "dropout of the task head", **_PROB)
    num_groups: int = setting(2, "groups of a reversible block", flag="groups", low=2)
    knn_chunk: int | None = setting(None, "query points per k-NN distance chunk", low=1)
    knn_graphs: str = setting(
        "recompute",
        "reversible blocks: search each k-NN graph again in the backward pass (memory flat in "
        "depth), or keep its indices from the forward pass (faster; 2 bytes x k a point per "
        "group and block for clouds of up to 32,767 points)",
        choices=("recompute", "keep"),
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.backbone == "rev" and self.hidden_channels % self.num_groups:
            raise ValueError(
                f"num_groups={self.num_groups} must divide channels={self.hidden_channels}"
            )

    def unused(self) -> dict[str, str]:
        entry = MODELS.entry(self.model)
        out = {
            f.name: f"--model {self.model}"
            for f in fields(self)
            if f.name != "model" and not entry.accepts(f.name, 3)
        }
        if self.model == "deepgcn" and self.backbone != "rev":
            why = f"--backbone {self.backbone} (only the reversible rev-resgcn-<layers> has it)"
            out["num_groups"] = out["knn_graphs"] = why
        return out
