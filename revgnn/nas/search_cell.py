r"""SGAS's search cell: two inputs, three intermediate nodes, nine mixed edges.

Node :math:`i` (0-based, after the two inputs :math:`s_0, s_1`) is the sum over every earlier
state :math:`s_j` of the mixed edge :math:`(j \to i)`, and the cell's output is the
concatenation of the three intermediate nodes (:math:`3C` channels). An undecided edge is the
architecture-weighted sum of every operation,
:math:`\bar{o}(x) = \sum_o \mathrm{softmax}(\alpha)_o\, o(x)`; a decided edge runs its one
operation; a pruned edge is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from revgnn.nas.operations import PRIMITIVES, make_op
from revgnn.nn.point_mlp import PointMLP

__all__ = ["NUM_EDGES", "STEPS", "MixedOp", "SearchCell", "edge_endpoints"]

#: Intermediate nodes of a cell, and its mixed edges (2 + 3 + 4).
STEPS = 3
NUM_EDGES = sum(2 + i for i in range(STEPS))


def edge_endpoints() -> Iterator[tuple[int, int, int]]:
    """``(edge, source state, target node)`` of every edge, in the architecture weights'
    order: states 0 and 1 are the inputs, target node ``i`` is state ``i + 2``."""
    edge = 0
    for node in range(STEPS):
        for state in range(2 + node):
            yield edge, state, node
            edge += 1


class MixedOp(nn.Module):
    """Every operation of the search space on one edge."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(make_op(name, channels) for name in PRIMITIVES)

    def forward(self, x: Tensor, edge_index: Tensor, weights: Tensor, selected: int) -> Tensor:
        if selected > 0:  # decided: only its operation runs
            return self.ops[selected](x, edge_index)
        active = (weights.detach() != 0).tolist()  # pruned operations cost nothing
        return sum(w * op(x, edge_index) for w, op, on in zip(weights, self.ops, active) if on)


class SearchCell(nn.Module):
    """One search cell (see the module docstring).

    Args:
        prev_prev (int), prev (int): Widths of the two inputs (preprocessed by 1x1 maps).
        channels (int): Width :math:`C` of every node.
    """

    def __init__(self, prev_prev: int, prev: int, channels: int) -> None:
        super().__init__()
        self.pre0 = PointMLP([prev_prev, channels], "relu", "batch", bias=False)
        self.pre1 = PointMLP([prev, channels], "relu", "batch", bias=False)
        self.edges = nn.ModuleList(MixedOp(channels) for _ in range(NUM_EDGES))

    def forward(
        self, s0: Tensor, s1: Tensor, edge_index: Tensor, weights: Tensor, selected: Tensor
    ) -> Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        nodes: list[list[Tensor]] = [[] for _ in range(STEPS)]
        for edge, state, node in edge_endpoints():
            if node + 2 > len(states):
                states.append(
                    sum(nodes[node - 1]) if nodes[node - 1] else torch.zeros_like(states[0])
                )
            choice = int(selected[edge])
            if choice == 0:  # pruned
                continue
            nodes[node].append(self.edges[edge](states[state], edge_index, weights[edge], choice))
        states.append(sum(nodes[-1]) if nodes[-1] else torch.zeros_like(states[0]))
        return torch.cat(states[2:], dim=-1)
