r"""SGAS's search networks: a stem, search cells sharing one set of architecture weights, and a
head; for point clouds (a k-NN graph per cell) or for a graph given as an ``edge_index``.

Point clouds :math:`(B, N, C_{in})`: cell :math:`c` (0-based) builds the dilated k-NN graph of
its first input with dilation :math:`c + 1` (the reference's), and the head fuses the stem's
and every cell's output, pools per cloud (max and mean) and classifies. Graphs (nodes
:math:`(n, C_{in})` and an ``edge_index``): every cell uses the given graph and the head
classifies every node.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.models.deep_gcn_heads import ClassificationHead
from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search_cell import NUM_EDGES, STEPS, SearchCell
from revgnn.nn.dropout import Dropout
from revgnn.nn.knn import dilated_knn, neighbors_to_edge_index
from revgnn.nn.point_mlp import PointMLP

__all__ = ["TASKS", "NetworkBody", "SearchNetwork"]

#: What a search or evaluation network predicts.
TASKS = ("points", "nodes")


class NetworkBody(nn.Module):
    """What the search and evaluation networks share: the stem, the per-cell graphs and the
    head; subclasses provide ``cells`` and ``run_cell``."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int,
        num_cells: int,
        task: str,
        k: int,
        emb_dims: int,
        dropout: float,
    ) -> None:
        super().__init__()
        if task not in TASKS:
            raise ValueError(f"task={task!r} is not one of {', '.join(TASKS)}")
        if num_cells < 1 or channels < 1:
            raise ValueError(f"num_cells={num_cells} and channels={channels} must be >= 1")
        self.task, self.k, self.num_cells, self.channels = task, k, num_cells, channels
        self.in_channels, self.num_classes = in_channels, num_classes
        stem = STEPS * channels
        self.stem = PointMLP([in_channels, stem], None, "batch", bias=False)
        fused = stem + STEPS * channels * num_cells
        if task == "points":
            self.head: nn.Module = ClassificationHead(
                fused, num_classes, emb_dims, "batch", dropout
            )
        else:
            self.head = nn.Sequential(
                PointMLP([fused, stem], "relu", "batch"),
                Dropout(dropout),
                nn.Linear(stem, num_classes),
            )

    def cell_graph(
        self, s0: Tensor, cell: int, num_points: int | None, edge_index: Tensor | None
    ) -> Tensor:
        if edge_index is not None:
            return edge_index
        points = s0.view(-1, num_points, s0.size(-1))
        return neighbors_to_edge_index(dilated_knn(points, self.k, cell + 1))

    def run_cell(self, cell: int, s0: Tensor, s1: Tensor, edge_index: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        if self.task == "points":
            if x.dim() != 3 or edge_index is not None:
                raise ValueError(
                    f"task='points' takes clouds [batch, num_points, channels] and no "
                    f"edge_index, got x of shape {list(x.shape)}"
                )
            b, n, _ = x.shape
            h = self.stem(x.reshape(b * n, -1))
        else:
            if x.dim() != 2 or edge_index is None:
                raise ValueError(
                    "task='nodes' takes node features [num_nodes, channels] and an edge_index"
                )
            b, n = 1, None
            h = self.stem(x)
        s0 = s1 = h
        outs = [h]
        for c in range(self.num_cells):
            graph = self.cell_graph(s0, c, n if self.task == "points" else None, edge_index)
            s0, s1 = s1, self.run_cell(c, s0, s1, graph)
            outs.append(s1)
        feats = torch.cat(outs, dim=-1)
        if self.task == "points":
            return self.head(feats.view(b, -1, feats.size(-1)))
        return self.head(feats)


class SearchNetwork(NetworkBody):
    r"""The supernet of an architecture search (see the module docstring).

    ``alpha`` :math:`(9, 10)` holds the architecture weights of the nine edges (shared by every
    cell, as SGAS's normal cell); ``selected`` the decisions: ``-1`` undecided, ``0`` pruned,
    ``o > 0`` the operation ``PRIMITIVES[o]`` chosen.

    Args:
        in_channels (int): Input channels.
        num_classes (int): Classes.
        channels (int): Width :math:`C` of a cell's nodes (its output: :math:`3C`).
            (default: ``16``)
        num_cells (int): Cells. (default: ``2``)
        task (str): ``"points"`` or ``"nodes"``. (default: ``"points"``)
        k (int): Neighbours of the point-cloud graphs. (default: ``9``)
        emb_dims (int): Fusion width of the point head. (default: ``256``)
        dropout (float): Dropout of the head. (default: ``0.5``)

    Shapes:
        clouds :math:`(B, N, C_{in})` → :math:`(B, \text{classes})`; nodes :math:`(n, C_{in})`
        and ``edge_index`` → :math:`(n, \text{classes})`.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: int = 16,
        num_cells: int = 2,
        task: str = "points",
        k: int = 9,
        emb_dims: int = 256,
        dropout: float = 0.5,
    ) -> None:
        super().__init__(in_channels, num_classes, channels, num_cells, task, k, emb_dims, dropout)
        c = STEPS * channels
        self.cells = nn.ModuleList(SearchCell(c, c, channels) for _ in range(num_cells))
        self.alpha = nn.Parameter(1e-3 * torch.randn(NUM_EDGES, len(PRIMITIVES)))
        self.register_buffer("selected", torch.full((NUM_EDGES,), -1, dtype=torch.long))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def edge_weights(self) -> Tensor:
        """Each edge's weights over the operations: the softmax of ``alpha`` while undecided,
        one-hot once decided, zero once pruned."""
        probs = torch.softmax(self.alpha, dim=-1)
        onehot = torch.zeros_like(probs)
        decided = self.selected > 0
        onehot[decided, self.selected[decided]] = 1.0
        undecided = (self.selected < 0).unsqueeze(-1)
        return torch.where(undecided, probs, onehot)

    def run_cell(self, cell: int, s0: Tensor, s1: Tensor, edge_index: Tensor) -> Tensor:
        return self.cells[cell](s0, s1, edge_index, self.edge_weights(), self.selected)

    def __repr__(self) -> str:
        decided = int((self.selected >= 0).sum())
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.num_classes}, "
            f"channels={self.channels}, num_cells={self.num_cells}, task={self.task!r}, "
            f"decided={decided}/{NUM_EDGES})"
        )
