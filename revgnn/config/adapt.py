r"""The library's rule for ``"auto"`` settings: what the recipe adapts to.

Every ``"auto"`` value of a recipe is resolved here from measurable properties, never from a
dataset's name:

* the depth (``model.num_layers``): from :data:`~revgnn.config.model.DEEP` layers on, every
  block's branch starts at zero behind a learnable gate (``branch_gate=0``, ReZero) and the
  weight decay applies to every parameter (``weight_decay_on=""``); below, no gate and the
  weight decay on the input encoder only (GCN's recipe; resolved on the built model by
  :func:`adapt_to_model`, which knows where its encoder is);
* the blocks' conv (:func:`block_decay_rule`, also resolved on the built model): GCNII's strong
  weight decay on blocks whose convs map the identity, the weight decay elsewhere;
* the coupling of an initial-residual conv (GCNII): from ``DAMPED_TIME / MAX_AUTO_DAMPING``
  (32) layers on, ``damping="auto"`` is the graph's diffusion time over the depth
  (:func:`damped_time_rule`: :data:`DAMPED_TIME` = 16 where labels are sparse, 0.25 at 64
  layers and 0.016 at 1000; :data:`DIFFUSION_TIME` = 4 where they are not) and
  ``branch_scale="auto"`` the same: each block steps that far towards the branch's fixed point
  (GCNII's personalised-PageRank limit), for the same total time at every depth, and the
  stream grows by at most the same :math:`e^{16}` whatever the depth, which its fixed-point
  grid holds (:mod:`revgnn.nn.damped_scales`): no stream copy from 33 layers on, so its
  memory stays flat. Shallower stacks keep RevGNN's additive coupling with
  ``branch_scale="auto"`` = ``DIFFUSION_TIME / num_layers`` (capped at 1): 16 damped blocks
  (steps of 0.25, 4 units of time) trained worse on Cora than 16 additive ones (0.802 against
  0.828, 3 seeds). Other convs: additive, unscaled;
* the stream's start (:func:`stream_init_rule`): zero for an initial-residual conv, whose
  blocks see the input through the initial residual, except where a damped stack fades its
  start below :data:`~revgnn.config.model.FADED_START` at the head (16 units of time): there,
  as for every other conv, the encoded input;
* the data: the conv of data with edge features (:func:`conv_rule`); for a node graph
  (:class:`GraphStats`) the features' preprocessing (:func:`feature_rule`),
  positional features for a graph without features (:func:`positional_rule`), the output
  layer's starting bias (:func:`head_bias_rule`);
* the machine: ``run.device`` is CUDA when torch sees a GPU.

:func:`adapt` returns the recipe with every such value filled in: what ``--print-config``
prints and the run's JSON records.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch_geometric.nn import GCN2Conv

from revgnn.config.fields import AUTO
from revgnn.config.model import (
    DAMPED_TIME,
    DEEP,
    DIFFUSION_TIME,
    FADED_START,
    MAX_AUTO_DAMPING,
    SPARSE_LABELS,
    ModelConfig,
)
from revgnn.config.recipe import Recipe
from revgnn.models.registry import MODELS
from revgnn.nn.conv.registry import conv_resolver

__all__ = [
    "GraphStats",
    "adapt",
    "adapt_model",
    "adapt_to_model",
    "auto_damping",
    "block_decay_rule",
    "conv_rule",
    "damped_time_rule",
    "feature_rule",
    "head_bias_rule",
    "positional_rule",
    "stream_init_rule",
    "weight_decay_targets",
]

#: The submodule of the node models that GCN's recipe decays: the input encoder.
INPUT_ENCODER = "encoder.node"

#: GCNII's weight decay on its convolutions (``block_weight_decay="auto"`` of identity-mapped
#: blocks, :func:`block_decay_rule`).
IDENTITY_MAPPED_DECAY = 0.01


@dataclass(frozen=True)
class GraphStats:
    """What the recipe may adapt to about a dataset.

    Args:
        num_nodes, num_edges: Sizes (directed edges, as in ``edge_index``).
        num_features: Node feature size.
        binary_features: Whether every feature value is 0 or 1 (bag-of-words, one-hot).
        nonnegative_features: Whether no feature value is negative.
        feature_density: Share of the feature values that are not zero.
        num_train: Labelled training nodes.
        multilabel: Whether the labels are 0/1 targets of one or more tasks (scored by
            ROC-AUC) rather than one class per node.
    """

    num_nodes: int
    num_edges: int
    num_features: int
    binary_features: bool
    nonnegative_features: bool
    feature_density: float = 0.0
    num_train: int = 0
    multilabel: bool = False


#: Binary features sparser than this are bag-of-words-like and get row normalisation.
SPARSE_FEATURES = 0.05


def feature_rule(stats: GraphStats) -> str:
    """``data.features="auto"``: sparse binary features over several columns (bag-of-words,
    fewer than :data:`SPARSE_FEATURES` of the entries set) are row-normalised, GCN's
    preprocessing; anything else (dense binary attributes, whose row normalisation would shrink
    every entry to 1/hundreds and erase how many are set; counts, rates, measurements of mixed
    units; a single structural column) is standardised per column.

    Bag-of-words rows are row-normalised (``"row"``) when there are fewer labelled training
    nodes than feature columns, and otherwise scaled back to the mean row sum after it
    (``"row_scaled"``): measured at 64 layers, Cora and CiteSeer (140 and 120 labels) score
    0.843 and 0.718 on ``"row"`` against 0.826 and 0.709 on ``"row_scaled"`` (3 seeds), while
    Coauthor CS (11,000 labels, 6,805 columns) predicts one class until epoch 40 on ``"row"``
    and reaches 0.946 on ``"row_scaled"``. The label count separates these graphs but is not
    the whole cause: Coauthor CS trained on 300 labels also scores higher on ``"row_scaled"``
    (docs/config.md gives the figures)."""
    if stats.binary_features and stats.num_features > 1 and stats.feature_density < SPARSE_FEATURES:
        return "row" if stats.num_train < stats.num_features else "row_scaled"
    return "standard"


#: Graphs with at most this many feature columns get positional features.
FEATURELESS = 1


def positional_rule(stats: GraphStats | None) -> str:
    """``data.positional="auto"``: ``"walk"`` (:mod:`revgnn.datasets.positional_features`)
    for graphs with at most :data:`FEATURELESS` feature columns, whose one column (the
    loaders' log-degree for a graph without features) cannot tell two nodes of the same degree
    apart; ``"none"`` otherwise.

    Measured with the default recipe and the label prior (seed 0, test ROC-AUC, ``none`` ->
    ``walk``; docs/config.md gives the panel): BlogCatalog 0.531 -> 0.562 and Deezer HU 0.524
    -> 0.543 at 16 layers, 0.534 -> 0.543 and 0.512 -> 0.505 at 64."""
    return "walk" if stats is not None and stats.num_features <= FEATURELESS else "none"


#: The conv of ``conv="auto"`` on a graph with edge features when the model's own takes none:
#: DeeperGCN's GENConv, the conv of the papers' edge-featured graphs (ogbn-proteins).
EDGE_CONV = "gen"


def conv_rule(cfg: ModelConfig, edge_dim: int | None) -> ModelConfig:
    """``model.conv="auto"`` for data with edge features of size ``edge_dim`` (a node graph's,
    a molecule's bonds): the model's default conv when it takes them, otherwise
    :data:`EDGE_CONV`. Edge features are never silently dropped, and the default recipe never
    refuses data for having them."""
    if not isinstance(cfg, ModelConfig) or cfg.conv != AUTO or edge_dim is None:
        return cfg
    if conv_resolver(cfg.resolved_conv).edge_features:
        return cfg
    return replace(cfg, conv=EDGE_CONV)


def head_bias_rule(stats: GraphStats | None) -> str:
    r"""``model.head_bias="auto"``: ``"prior"`` for multi-label and binary node tasks, whose
    sigmoid outputs otherwise start at :math:`p = 0.5` for labels that are mostly 0; ``"init"``
    otherwise (multi-class softmax outputs, graph and point-cloud tasks).

    With a zero-mean bias, the first steps pull every logit down to the labels' rate through
    whatever output varies most from node to node, and on a graph that is the degree (a
    symmetric-normalised propagation scales by about :math:`\sqrt{\deg}`): the model ranks
    nodes by their degree, for every label, whatever their features. Measured on the
    featureless BlogCatalog and Deezer HU (one log-degree column, default recipe, seed 0),
    where the degree alone scores 0.529 / 0.516 test ROC-AUC: the default trained to 0.472 /
    0.510 (the negated degree's ranking) with the layer's own bias, and to 0.531 / 0.524 with
    the prior (docs/config.md gives the whole panel)."""
    return "prior" if stats is not None and stats.multilabel else "init"


def adapt_model(cfg: ModelConfig, stats: GraphStats | None = None) -> ModelConfig:
    """``cfg`` with its depth-dependent ``"auto"`` settings filled in (see the module
    docstring), for a node graph described by ``stats`` (``None``: nothing known about it)."""
    if not isinstance(cfg, ModelConfig):
        return cfg
    entry = MODELS.entry(cfg.model)
    initial = cfg.conv_spec.initial
    changes: dict[str, Any] = {}
    if cfg.conv == AUTO:
        changes["conv"] = cfg.resolved_conv
    damping = cfg.damping
    if damping == AUTO and entry.accepts("damping", 3):
        damping = auto_damping(cfg.num_layers, damped_time_rule(stats)) if initial else 0.0
        changes["damping"] = damping
    if cfg.branch_gate == AUTO and entry.accepts("branch_gate", 3) and cfg.gated:
        changes["branch_gate"] = 0.0 if cfg.num_layers >= DEEP and not initial else None
    if cfg.branch_scale == AUTO and entry.accepts("branch_scale", 3):
        # A damped coupling takes steps of its damping towards the branch's fixed point.
        diffusion = min(1.0, DIFFUSION_TIME / cfg.num_layers)
        changes["branch_scale"] = (damping or diffusion) if initial else None
    if cfg.stream_init == AUTO and entry.accepts("stream_init", 3):
        d = damping if isinstance(damping, (int, float)) else 0.0
        changes["stream_init"] = stream_init_rule(initial, cfg.num_layers, d)
    return replace(cfg, **changes) if changes else cfg


def auto_damping(num_layers: int, time: float = DAMPED_TIME) -> float:
    """``damping="auto"`` of an initial-residual conv at ``num_layers`` blocks (see the module
    docstring): ``time / num_layers`` (``time``: :func:`damped_time_rule`'s), or 0 (additive)
    for a stack too shallow to take :data:`DAMPED_TIME` in steps of at most
    :data:`MAX_AUTO_DAMPING`, whatever the graph's time: the depth alone decides the coupling."""
    if DAMPED_TIME / num_layers > MAX_AUTO_DAMPING:
        return 0.0
    return time / num_layers


def stream_init_rule(initial: bool, num_layers: int, damping: float) -> str:
    """``stream_init="auto"``: where the reversible stream starts.

    ``"zero"`` for an initial-residual conv (GCNII), whose blocks see the encoded input through
    the initial residual: started at the input, an additive stack would carry it to the head
    unchanged next to what the blocks add. A damped stack fades its start by
    :math:`(1 - d)^L` (about :math:`e^{-T}` for a diffusion time :math:`T`: 1e-8 at 64 layers
    and :data:`DAMPED_TIME`'s 16 units, 0.016 at :data:`DIFFUSION_TIME`'s 4); where that is
    below :data:`FADED_START` the start reaches the head no more, and ``"input"`` gives the
    first blocks the encoded features to propagate, as GCNII's first layer has them. Convs
    without an initial residual see the input only through the stream: ``"input"``.

    Measured at 64 layers (input against zero, seeds 0-2, test metric at the best validation
    epoch; docs/config.md): with 16 units (the rule: input) Cora 0.846 against 0.843, CiteSeer
    0.725 against 0.718, Amazon Photo with 160 training labels 0.925 against 0.924, Amazon
    Computers with 200 0.8335 against 0.8343 (seeds 0-1); with 4 (the rule: zero) Amazon Photo
    with its 60% of labels 0.946 against 0.950."""
    if not initial:
        return "input"
    return "input" if damping > 0.0 and (1.0 - damping) ** num_layers < FADED_START else "zero"


def damped_time_rule(stats: GraphStats | None) -> float:
    """The diffusion time of a damped stack: :data:`DAMPED_TIME` (16) where fewer than
    :data:`SPARSE_LABELS` of the nodes are training labels, or where nothing is known about the
    graph; :data:`DIFFUSION_TIME` (4, the additive stack's time below 32 layers) otherwise.

    With few labels a node's class must be read from far away, and a long propagation carries
    it there; with labels on most nodes the local neighbourhood says more, and 16 units smooth
    it away. Measured at 64 layers (test scores, 16 units against 4; docs/config.md gives the
    seeds): Cora 0.843 against 0.795 and CiteSeer 0.718 against 0.709 (5% and 4% of the nodes
    labelled) lose with the short time; Amazon Photo 0.939 against 0.950, Coauthor CS 0.946
    against 0.952, Tolokers 0.754 against 0.764 and Amazon Computers 0.886 against 0.907
    (50-60% labelled) gain. The share separates these graphs with room on both sides:
    semi-supervised benchmarks label a few percent of the nodes (ogbn-products 8%),
    supervised ones half or more (ogbn-arxiv 54%, ogbn-proteins 65%)."""
    if stats is None or stats.num_train < SPARSE_LABELS * stats.num_nodes:
        return DAMPED_TIME
    return DIFFUSION_TIME


def weight_decay_targets(num_layers: int | None, has_input_encoder: bool) -> str:
    """``weight_decay_on="auto"``: the input encoder below :data:`DEEP` layers (GCN's recipe:
    weight decay on the first layer), every parameter (``""``) from there on and for models
    without a node encoder or a depth."""
    shallow = num_layers is not None and num_layers < DEEP
    return INPUT_ENCODER if shallow and has_input_encoder else ""


def block_decay_rule(blocks: nn.Module | None) -> float | None:
    r"""``block_weight_decay="auto"`` for a model's ``blocks`` (its outermost ``layers``):
    GCNII's :data:`IDENTITY_MAPPED_DECAY` where they hold GCNII's identity-mapped convs, ``None``
    (the weight decay of ``weight_decay_on``) otherwise.

    GCNII's conv transforms by :math:`(1 - \beta_l)\mathbf{I} + \beta_l\mathbf{W}`, so its
    strong decay pulls each layer towards the identity mapping and the propagation goes on. A
    conv whose weights carry the signal (GENConv's MLP, SAGE, GAT, GIN) is pulled towards zero
    instead: a DeeperGCN's first conv, which has no residual around it, then passes nothing
    on. Measured with the default recipe otherwise (seed 0; docs/config.md): DeeperGCN at 3,
    7 and 16 layers on Cora stayed at the majority class (0.320, 0.319) or reached 0.676 with
    the decay, and reached 0.751, 0.754 and 0.740 without; on CiteSeer (16 layers) 0.401
    against 0.617. RevGNNs, whose blocks are all residual: GENConv 0.609 against 0.788, SAGE
    0.782 against 0.781."""
    if blocks is not None and any(isinstance(m, GCN2Conv) for m in blocks.modules()):
        return IDENTITY_MAPPED_DECAY
    return None


def adapt(recipe: Recipe, stats: GraphStats | None = None, edge_dim: int | None = None) -> Recipe:
    """``recipe`` with every ``"auto"`` setting filled in (see the module docstring), for a
    node graph described by ``stats`` and data with edge features of size ``edge_dim``."""
    model = adapt_model(conv_rule(recipe.model, edge_dim), stats)
    optim = recipe.optim
    run = recipe.run
    data = recipe.data
    if run.device == AUTO:
        run = replace(run, device="cuda" if torch.cuda.is_available() else "cpu")
    if data.features == AUTO:
        data = replace(data, features=feature_rule(stats) if stats is not None else "raw")
    if data.positional == AUTO:
        data = replace(data, positional=positional_rule(stats))
    if getattr(model, "head_bias", None) == AUTO:
        model = replace(model, head_bias=head_bias_rule(stats))
    return replace(recipe, model=model, optim=optim, data=data, run=run)


def adapt_to_model(recipe: Recipe, decay_on: str, block_decay: float | None = None) -> Recipe:
    """``recipe`` with ``weight_decay_on="auto"`` and ``block_weight_decay="auto"`` replaced by
    what they resolve to for the built model (``decay_on``: the input encoder's name in it, or
    ``""``; ``block_decay``: :func:`block_decay_rule` of its blocks)."""
    changes: dict[str, Any] = {}
    if recipe.optim.weight_decay_on == AUTO:
        changes["weight_decay_on"] = decay_on
    if recipe.optim.block_weight_decay == AUTO:
        changes["block_weight_decay"] = block_decay
    return replace(recipe, optim=replace(recipe.optim, **changes)) if changes else recipe


def resolved(recipe: Recipe) -> dict[str, Any]:
    """The recipe as plain data, every value resolved (what a run records)."""
    return recipe.to_dict(full=True)
