"""The planner's :class:`~revgnn.memory.kinds.Config` of a recipe's model on one batch.

:func:`plan_config` maps a :class:`~revgnn.config.ModelConfig` (a shipped recipe's, or one
built from flags) to the model kind whose calibrated constants describe it, with the sizes
of the batch a training step sees, so :func:`revgnn.memory.plan.predict` gives the peak of
that step. ``benchmarks/ogb_scale.py`` puts the prediction next to the measured peak of
every OGB preset.
"""

from __future__ import annotations

from revgnn.config.model import ModelConfig
from revgnn.memory.kinds import MODEL_KINDS, Config

__all__ = ["PLANNED_MODELS", "plan_config"]

#: The planner's kind of each (model, conv) pair it has constants for.
PLANNED_MODELS = {
    ("revgnn", "gen"): "revgnn",
    ("revgnn", "gcnii"): "revgnn-gcnii",
    ("revgnn", "sage"): "revgnn-sage",
    ("revgnn", "gat"): "revgat",
    ("wt-revgnn", "gen"): "wt-revgnn",
    ("deq-gnn", "gen"): "deq-gnn",
    ("deeper-gcn", "gen"): "deepergcn",
}


def plan_config(
    model: ModelConfig,
    *,
    num_nodes: int,
    num_edges: int,
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    multilabel: bool,
    amp: str | None = None,
    feature_density: float = 1.0,
) -> Config:
    """The planner's configuration of ``model`` trained on a batch of ``num_nodes`` nodes and
    ``num_edges`` (directed) edges; ``feature_density`` is the share of non-zero node
    features (bag-of-words features take the sparse input path).

    Raises :class:`ValueError` for a model and conv the planner has no kind for.
    """
    conv = model.resolved_conv
    kind = PLANNED_MODELS.get((model.model, conv))
    if kind is None:
        known = ", ".join(f"--model {m} --conv {c}" for m, c in PLANNED_MODELS)
        raise ValueError(
            f"the memory planner has no constants for --model {model.model} --conv {conv}; "
            f"it plans {known}"
        )
    options = model.conv_options
    genconv = {}
    if MODEL_KINDS[kind].aggregations:
        genconv = {
            "aggr": options.get("aggr", model.conv_spec.options.get("aggr", Config.aggr)),
            "learn_t": bool(options.get("learn_t", False)),
            "learn_p": bool(options.get("learn_p", False)),
            "mlp_layers": int(options.get("mlp_layers", Config.mlp_layers)),
        }
    return Config(
        kind=kind,
        num_layers=model.num_layers,
        hidden_channels=model.hidden_channels,
        num_groups=model.num_groups,
        num_nodes=num_nodes,
        num_edges=num_edges,
        in_channels=in_channels,
        out_channels=out_channels,
        edge_dim=edge_dim,
        norm=model.norm,
        amp=amp,
        multilabel=multilabel,
        feature_density=feature_density,
        **genconv,
    )
