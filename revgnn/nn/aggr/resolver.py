"""Build an aggregator from its DeeperGCN name."""

from __future__ import annotations

from revgnn.nn.aggr.base import AGGREGATIONS, LeanAggregation

__all__ = ["aggregation_resolver"]


def aggregation_resolver(
    aggr: str | LeanAggregation,
    *,
    t: float = 1.0,
    learn_t: bool = False,
    p: float = 1.0,
    learn_p: bool = False,
    y: float = 0.0,
    learn_y: bool = False,
    channels: int = 1,
    lean: bool = True,
    chunk_size: int | None = None,
) -> LeanAggregation:
    """The aggregator registered as ``aggr`` (a name of :data:`~revgnn.nn.aggr.AGGREGATIONS`:
    ``softmax``, ``softmax_sg``, ``softmax_sum``, ``power`` / ``powermean``, ``power_sum``,
    ``mean``, ``max``, ``sum`` / ``add``, and any aggregator class added since), built from the
    options its class takes; an aggregator module is returned as is.

    ``channels > 1`` makes every learned parameter (:math:`\\beta`, :math:`p`, :math:`y`) a
    per-channel vector of that length.
    """
    if isinstance(aggr, LeanAggregation):
        return aggr
    if not isinstance(aggr, str):
        raise TypeError(
            f"aggr must be a name or a revgnn LeanAggregation, got {type(aggr).__name__}"
        )
    cls = AGGREGATIONS.get(aggr)
    if cls is None:
        raise ValueError(f"aggr={aggr!r} is not one of {', '.join(sorted(AGGREGATIONS))}")
    return cls.from_options(
        aggr,
        t=t,
        learn_t=learn_t,
        p=p,
        learn_p=learn_p,
        y=y,
        learn_y=learn_y,
        channels=channels,
        lean=lean,
        chunk_size=chunk_size,
    )
