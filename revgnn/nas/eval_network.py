"""The network a genotype describes, trained from scratch to evaluate an architecture (more
cells and wider than the search network, as SGAS evaluates), through the one training loop."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.config.train import TrainConfig
from revgnn.nas.genotype import Genotype
from revgnn.nas.operations import make_op
from revgnn.nas.search_cell import STEPS
from revgnn.nas.search_network import NetworkBody
from revgnn.nn.point_mlp import PointMLP
from revgnn.training.loop import train
from revgnn.training.result import TrainResult
from revgnn.training.task import Task

__all__ = ["EvalCell", "EvalNetwork", "train_genotype"]


class EvalCell(nn.Module):
    """A cell of a genotype: each node sums its two edges' operations; the output
    concatenates the three nodes (:math:`3C`)."""

    def __init__(self, genotype: Genotype, prev_prev: int, prev: int, channels: int) -> None:
        super().__init__()
        self.genotype = genotype
        self.pre0 = PointMLP([prev_prev, channels], "relu", "batch", bias=False)
        self.pre1 = PointMLP([prev, channels], "relu", "batch", bias=False)
        self.ops = nn.ModuleList(
            nn.ModuleList(make_op(op, channels) for op, _ in edges) for edges in genotype.nodes
        )

    def forward(self, s0: Tensor, s1: Tensor, edge_index: Tensor) -> Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for edges, ops in zip(self.genotype.nodes, self.ops):
            states.append(sum(op(states[s], edge_index) for (_, s), op in zip(edges, ops)))
        return torch.cat(states[2:], dim=-1)


class EvalNetwork(NetworkBody):
    """``num_cells`` cells of ``genotype`` between the stem and the head of
    :class:`~revgnn.nas.SearchNetwork` (the same arguments otherwise).

    Shapes:
        clouds :math:`(B, N, C_{in})` → :math:`(B, \\text{classes})`; nodes :math:`(n, C_{in})`
        and ``edge_index`` → :math:`(n, \\text{classes})`.
    """

    def __init__(
        self,
        genotype: Genotype,
        in_channels: int,
        num_classes: int,
        channels: int = 32,
        num_cells: int = 3,
        task: str = "points",
        k: int = 9,
        emb_dims: int = 256,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(in_channels, num_classes, channels, num_cells, task, k, emb_dims, dropout)
        c = STEPS * channels
        self.genotype = genotype
        self.cells = nn.ModuleList(EvalCell(genotype, c, c, channels) for _ in range(num_cells))

    def run_cell(self, cell: int, s0: Tensor, s1: Tensor, edge_index: Tensor) -> Tensor:
        return self.cells[cell](s0, s1, edge_index)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.genotype}, channels={self.channels}, "
            f"num_cells={self.num_cells}, task={self.task!r})"
        )


def train_genotype(
    genotype: Genotype,
    task: Task,
    in_channels: int,
    num_classes: int,
    config: TrainConfig,
    network: dict | None = None,
) -> TrainResult:
    """Train an :class:`EvalNetwork` of ``genotype`` from scratch on ``task`` (the real
    train / valid / test split) with :func:`~revgnn.train`; ``network``: the network's other
    arguments (``channels``, ``num_cells``, ``task``, ``k``, ...)."""
    model = EvalNetwork(genotype, in_channels, num_classes, **(network or {}))
    return train(model, task, config)
