"""What a reversible stack's recording forward pass keeps for its backward pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

__all__ = ["Recorded"]


@dataclass
class Recorded:
    """What a recording forward pass of :class:`~revgnn.nn.rev_stack.RevStack` keeps.

    The seed every group call's generators derive from (:mod:`revgnn.utils.rng`). Keyed by
    group call (``layer * num_groups + group``): the graphs that groups built from their input
    with ``keep_graph`` (:mod:`revgnn.nn.graph_tape`). Keyed by layer: the stream snapshots
    (the exact stream before a block's regridding, or every ``snapshot_every`` blocks), the
    exact inputs of the blocks whose sums may have rounded, and the grid steps a damped stream
    moved to (:mod:`revgnn.nn.damped_scales`).
    """

    seed: int | None = None
    graphs: dict[int, list[Tensor]] = field(default_factory=dict)
    snapshots: dict[int, Tensor] = field(default_factory=dict)
    inputs: dict[int, Tensor] = field(default_factory=dict)
    grids: dict[int, float] = field(default_factory=dict)

    def pack(self) -> tuple[list[Tensor], Any]:
        """Every tensor, flat (for ``save_for_backward``), and the layout :meth:`unpack`
        needs."""
        tensors = [t for items in self.graphs.values() for t in items]
        tensors += list(self.snapshots.values()) + list(self.inputs.values())
        layout = (
            self.seed,
            [(key, len(items)) for key, items in self.graphs.items()],
            list(self.snapshots),
            list(self.inputs),
            dict(self.grids),
        )
        return tensors, layout

    @classmethod
    def unpack(cls, tensors: Sequence[Tensor], layout: Any) -> Recorded:
        rest = list(tensors)
        seed, graph_layout, snapshot_layers, input_layers, grids = layout
        out = cls(seed=seed, grids=dict(grids))
        for key, count in graph_layout:
            out.graphs[key] = [rest.pop(0) for _ in range(count)]
        for layer in snapshot_layers:
            out.snapshots[layer] = rest.pop(0)
        out.inputs = dict(zip(input_layers, rest, strict=True))
        return out
