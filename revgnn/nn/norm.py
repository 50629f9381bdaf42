"""Normalisation layers by name."""

from __future__ import annotations

from torch import nn
from torch_geometric.nn.resolver import activation_resolver, normalization_resolver

from revgnn.utils.registry import normalize

__all__ = ["activation", "norm_layer"]


def norm_layer(norm: str | nn.Module | None, channels: int) -> nn.Module | None:
    """A normalisation layer for node features :math:`(N, C)`, or ``None``; a module is
    used as it is (PyG's convention of passing ``norm=LayerNorm(C)``).

    ``"layer"`` (or ``"LayerNorm"``, ``"layer_norm"``) is a per-node
    :class:`torch.nn.LayerNorm` (DeeperGCN's); PyG's resolver would give its graph-wise
    LayerNorm, which normalises over all nodes together. Every other name
    goes to PyG's ``normalization_resolver`` (``"batch"``, ``"instance"``, ``"graph"``,
    ``"pairnorm"``, ...).
    """
    if norm is None or isinstance(norm, nn.Module):
        return norm
    if not isinstance(norm, str):
        raise TypeError(f"norm must be a name, a module or None, got {type(norm).__name__}")
    if normalize(norm) in ("layer", "layernorm"):  # every spelling: one meaning
        return nn.LayerNorm(channels)
    return normalization_resolver(norm, channels)


def activation(act: str | nn.Module | None) -> nn.Module | None:
    """An activation by name (PyG's ``activation_resolver``), a module as it is, or
    ``None``."""
    if act is None or isinstance(act, nn.Module):
        return act
    return activation_resolver(act)
