"""Normalisation layers by name."""

from __future__ import annotations

from torch import nn
from torch_geometric.nn.resolver import normalization_resolver

__all__ = ["norm_layer"]


def norm_layer(norm: str | None, channels: int) -> nn.Module | None:
    """A normalisation layer for node features :math:`(N, C)`, or ``None``.

    ``"layer"`` is a per-node :class:`torch.nn.LayerNorm` (DeeperGCN's); PyG's resolver would
    give its graph-wise LayerNorm, which normalises over all nodes together. Every other name
    goes to PyG's ``normalization_resolver`` (``"batch"``, ``"instance"``, ``"graph"``,
    ``"pairnorm"``, ...).
    """
    if norm is None:
        return None
    if not isinstance(norm, str):
        raise TypeError(f"norm must be a name or None, got {type(norm).__name__}")
    if norm == "layer":
        return nn.LayerNorm(channels)
    return normalization_resolver(norm, channels)
