"""Build an aggregator from its DeeperGCN name and GENConv's options."""

from __future__ import annotations

from typing import Any

from revgnn.nn.aggr.base import AGGREGATIONS, LeanAggregation
from revgnn.utils.registry import keyword_options

__all__ = ["aggregation_options", "aggregation_resolver"]


def aggregation_options(aggr: str) -> tuple[str, ...]:
    """The GENConv options the aggregator registered as ``aggr`` reads (the keyword
    parameters of its ``from_options``): ``("t", "learn_t", ...)`` for ``"softmax"``."""
    cls = AGGREGATIONS[aggr]
    return tuple(n for n in keyword_options(cls.from_options) if n not in ("cls", "name"))


def aggregation_resolver(aggr: str | LeanAggregation, **options: Any) -> LeanAggregation:
    """The aggregator registered as ``aggr`` (a name of
    :data:`~revgnn.nn.aggr.AGGREGATIONS`: ``softmax``, ``softmax_sg``, ``softmax_sum``,
    ``power`` / ``powermean``, ``power_sum``, ``mean``, ``max``, ``sum`` / ``add``, and any
    aggregator class added since), built from the ``options`` its class reads (GENConv passes
    all of its own: ``t``, ``learn_t``, ``p``, ``learn_p``, ``y``, ``learn_y``, ``channels``,
    ``lean``, ``chunk_size``; each class takes those in its ``from_options`` signature, with
    their defaults there, and ignores the others); an aggregator module is returned as is.

    ``channels > 1`` makes every learned parameter (:math:`\\beta`, :math:`p`, :math:`y`) a
    per-channel vector of that length.
    """
    if isinstance(aggr, LeanAggregation):
        return aggr
    if not isinstance(aggr, str):
        raise TypeError(
            f"aggr must be a name or a revgnn LeanAggregation, got {type(aggr).__name__}"
        )
    aggr = AGGREGATIONS.canonical(aggr)
    cls = AGGREGATIONS[aggr]
    wanted = aggregation_options(aggr)
    return cls.from_options(aggr, **{k: v for k, v in options.items() if k in wanted})
