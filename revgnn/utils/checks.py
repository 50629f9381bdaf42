"""Input checks shared by the models, the datasets and the trainer: one clear error each."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["check_edge_index", "check_finite", "check_probability", "is_sparse_adjacency"]


def check_probability(name: str, p: float) -> None:
    """A dropout-like probability must lie in ``[0, 1)``."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name}={p} must lie in [0, 1)")


def is_sparse_adjacency(adj: Any) -> bool:
    """A ``torch.sparse`` tensor or a ``torch_sparse.SparseTensor`` (PyG's ``adj_t``)."""
    if isinstance(adj, Tensor):
        return adj.layout != torch.strided
    return type(adj).__name__ == "SparseTensor"


def check_edge_index(edge_index: Any, num_nodes: int, name: str = "edge_index") -> Any:
    """Validate a graph's connectivity against ``num_nodes``; return it with int64 indices.

    ``edge_index`` is a :math:`(2, E)` integer tensor (int32 is widened to int64, which every
    PyG conv needs) or a sparse adjacency of shape :math:`(N, N)`. One reduction over the
    indices (``aminmax``), not one per layer.
    """
    if is_sparse_adjacency(edge_index):
        size = tuple(edge_index.size()) if callable(edge_index.size) else edge_index.sizes()
        if len(size) != 2 or size[0] != num_nodes or size[1] != num_nodes:
            raise ValueError(
                f"{name} is a sparse adjacency of shape {size} but the graph has "
                f"{num_nodes} nodes: it must be ({num_nodes}, {num_nodes})"
            )
        return edge_index
    if not isinstance(edge_index, Tensor):
        raise TypeError(
            f"{name} must be a [2, E] integer tensor or a sparse adjacency, "
            f"got {type(edge_index).__name__}"
        )
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"{name} must have shape [2, E], got {list(edge_index.shape)}")
    if edge_index.dtype.is_floating_point or edge_index.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer node indices, got {edge_index.dtype}")
    if edge_index.numel() > 0:
        lo, hi = (int(v) for v in torch.aminmax(edge_index))
        if lo < 0 or hi >= num_nodes:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"{name} refers to node {bad} but there are {num_nodes} nodes (valid indices "
                f"0..{num_nodes - 1}; largest index {hi}, smallest {lo}): check that the node "
                "features and the edges come from the same graph"
            )
    return edge_index if edge_index.dtype == torch.long else edge_index.long()


def check_finite(name: str, value: Any, what: str = "") -> None:
    """A floating-point tensor must hold no NaN or inf; ``what`` says what to check."""
    if not (isinstance(value, Tensor) and value.is_floating_point()):
        return
    if value.layout != torch.strided:  # a sparse adjacency: its stored values
        value = value.values()
    # detach(): isfinite on a tensor that requires grad would record a graph that saves it.
    finite = torch.isfinite(value.detach())
    if not bool(finite.all()):
        bad = int((~finite).sum())
        row = int((~finite).nonzero()[0, 0]) if value.dim() > 0 else 0
        hint = f": {what}" if what else ""
        raise ValueError(
            f"{name} has {bad} NaN or inf entries of {value.numel()} (first in row {row}){hint}"
        )
