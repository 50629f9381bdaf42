"""Sparse adjacencies in the form the message-passing code reads: an edge list."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import to_edge_index

__all__ = ["edge_list"]


def edge_list(adj_t: Any) -> tuple[Tensor, Tensor | None]:
    """A transposed adjacency (PyG's ``adj_t``: targets as rows, sources as columns) as a
    ``[2, E]`` edge index (sources first) and its values (``None`` when it stores none)."""
    if isinstance(adj_t, Tensor):
        index, values = to_edge_index(adj_t)
        return index.flip(0), values
    row, col, value = adj_t.coo()
    return torch.stack([col, row]), value
