"""DropEdge (Rong et al., ICLR 2020): a fresh random subset of the edges per training call."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["EDGE_KWARGS", "drop_edges"]

#: Keyword arguments that hold one row per edge and are dropped with their edges.
EDGE_KWARGS = ("edge_attr", "edge_weight")


def drop_edges(
    edge_index: Any, kwargs: dict[str, Any], p: float, training: bool
) -> tuple[Any, dict[str, Any]]:
    """Keep each edge with probability ``1 - p``; the per-edge kwargs follow their edges.

    Draws from torch's generator, which reversible blocks record and replay in their
    backward pass, so the recomputation sees the same edges.
    """
    if not training or p == 0.0:
        return edge_index, kwargs
    if not isinstance(edge_index, Tensor) or edge_index.layout != torch.strided:
        raise TypeError(
            f"edge_dropout needs edge_index as a [2, E] tensor, got {type(edge_index).__name__}"
        )
    keep = torch.rand(edge_index.size(1), device=edge_index.device) >= p
    kwargs = dict(kwargs)
    for name in EDGE_KWARGS:
        if kwargs.get(name) is not None:
            kwargs[name] = kwargs[name][keep]
    return edge_index[:, keep], kwargs
