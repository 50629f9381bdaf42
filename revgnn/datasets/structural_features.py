"""Node features for graphs that have none."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import degree

__all__ = ["structural_features"]


def structural_features(edge_index: Tensor, num_nodes: int) -> Tensor:
    """:math:`\\log(1 + \\deg(v))`, one column."""
    return torch.log1p(degree(edge_index[0], num_nodes)).view(-1, 1)
