"""A probe conv and a small graph the block tests share."""

import torch
from torch import nn

from tests.helpers import random_graph

N, E, D = 20, 80, 6


class EdgeProbe(nn.Module):
    """Records the edges and edge features it receives; returns a linear map of x."""

    def __init__(self, channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, out_channels or channels)
        self.seen: list[tuple] = []

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def forward(self, x, edge_index, edge_attr=None, edge_weight=None):
        self.seen.append((edge_index, edge_attr, edge_weight))
        return self.lin(x)


def graph():
    g = torch.Generator().manual_seed(0)
    return torch.randn(N, D, generator=g), random_graph(N, E)
