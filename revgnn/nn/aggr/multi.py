r"""Several aggregators at once, combined (PNA's idea; PyG's
:class:`~torch_geometric.nn.aggr.MultiAggregation`), each on its memory-lean path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr.base import LeanAggregation
from revgnn.nn.aggr.resolver import aggregation_resolver

__all__ = ["MultiAggregation"]


class MultiAggregation(pyg_aggr.MultiAggregation):
    r"""The aggregators ``aggrs`` combined by ``mode`` (``"cat"``: their outputs side by
    side, :math:`(N, k D)`; ``"sum"``, ``"mean"``, ``"max"``, ``"min"``, ...: channel-wise;
    ``"proj"`` / ``"attn"``: learned, see PyG's class, whose combination this reuses).

    Names are resolved by :func:`~revgnn.nn.aggr.aggregation_resolver` (revgnn's aggregators,
    with the options ``aggrs_kwargs`` their classes read), so every aggregator keeps its
    memory-lean path, and :class:`~revgnn.nn.conv.GENConv` with ``aggr=["softmax",
    "power"]`` aggregates its messages once per aggregator without keeping any
    :math:`E \times D` tensor.

    Args:
        aggrs (list): Aggregator names or modules.
        aggrs_kwargs (list of dict, optional): Options of each, for names.
        mode (str): The combination. (default: ``"cat"``)
        mode_kwargs (dict, optional): ``in_channels`` / ``out_channels`` (and ``num_heads``)
            of ``"proj"`` / ``"attn"``.

    Shapes:
        - **input:** messages :math:`(E, D)`, index :math:`(E,)` or ptr :math:`(N + 1,)`.
        - **output:** :math:`(N, kD)` for ``"cat"`` with :math:`k` aggregators, else
          :math:`(N, D)` (``out_channels`` for ``"proj"`` / ``"attn"``).
    """

    def __init__(
        self,
        aggrs: Sequence[str | LeanAggregation],
        aggrs_kwargs: Sequence[dict[str, Any]] | None = None,
        mode: str = "cat",
        mode_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(aggrs, (list, tuple)) or not aggrs:
            raise ValueError(f"aggrs must be a non-empty list of aggregators, got {aggrs!r}")
        kwargs = list(aggrs_kwargs) if aggrs_kwargs is not None else [{}] * len(aggrs)
        if len(kwargs) != len(aggrs):
            raise ValueError(f"aggrs_kwargs has {len(kwargs)} entries for {len(aggrs)} aggregators")
        modules = [aggregation_resolver(a, **kw) for a, kw in zip(aggrs, kwargs)]
        super().__init__(modules, None, mode, mode_kwargs)

    @property
    def lean(self) -> bool:
        return all(a.lean for a in self.aggrs)

    @lean.setter
    def lean(self, value: bool) -> None:
        for a in self.aggrs:
            a.lean = value

    def aggregate_edges(self, edge_index: Tensor, dim_size: int, *args: Any, **kw: Any) -> Tensor:
        """Every aggregator's :meth:`~revgnn.nn.aggr.LeanAggregation.aggregate_edges`,
        combined: the messages are recomputed per aggregator, never stored."""
        return self.combine(
            [a.aggregate_edges(edge_index, dim_size, *args, **kw) for a in self.aggrs]
        )
