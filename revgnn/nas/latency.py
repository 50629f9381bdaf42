r"""LC-NAS's latency constraint (Li, Xu, Giancola, Thabet, Ghanem, arXiv 2008.10309): measured
per-operation latencies, the architecture's expected latency, and a hinge on a target.

The latency of a network's cells is modelled as a lookup table measured on the target device
at the network's own shapes (nodes, channels, edges of its graphs): :math:`t_o` for every
operation, :math:`t_{pre}` for a cell's two input maps. With edge weights :math:`w_{e,o}`
(softmax while undecided, one-hot once decided, zero once pruned),

.. math::

    \mathbb{E}[T] = L \Big(t_{pre} + \sum_{e} \sum_{o} w_{e,o}\, t_o\Big), \qquad
    \mathcal{L}_{lat} = \lambda\, \max\big(0, \mathbb{E}[T] - T^*\big) / T^*,

:math:`L` the number of cells and :math:`T^*` the target. The paper's exact loss is not public
in code; this is its stated construction (a table summed over the expected architecture, a
hinge on the target). :func:`measure_cells` times a genotype's cells at the same shapes, the
figure the target is checked against. Graph construction and the stem / head are the same for
every architecture and are not part of the table.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from revgnn.nas.eval_network import EvalCell
from revgnn.nas.genotype import Genotype
from revgnn.nas.operations import PRIMITIVES, make_op
from revgnn.nas.search_cell import STEPS
from revgnn.nn.point_mlp import PointMLP

__all__ = ["LatencyTable", "latency_loss", "measure_cells", "time_call"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def time_call(fn: Callable[[], object], device: torch.device, repeats: int = 10) -> float:
    """Median wall time of ``fn()`` in milliseconds, after two warm-up calls."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats} must be >= 1")
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


@dataclass
class LatencyTable:
    """Milliseconds of one call of each operation (``ops``, by name) and of a cell's input
    maps (``pre``) at one network's shapes, on ``device``."""

    ops: dict[str, float]
    pre: float
    num_cells: int
    device: str

    @classmethod
    def measure(
        cls,
        num_nodes: int,
        channels: int,
        edge_index: Tensor,
        num_cells: int,
        device: torch.device | str = "cpu",
        repeats: int = 10,
    ) -> LatencyTable:
        """Time every operation on random features :math:`(n, C)` over ``edge_index`` (the
        graph of one cell: :math:`B \\cdot N` nodes and :math:`B \\cdot N \\cdot k` edges for a
        point-cloud network), in inference mode."""
        device = torch.device(device)
        x = torch.randn(num_nodes, channels, device=device)
        cat = torch.randn(num_nodes, STEPS * channels, device=device)
        edge_index = edge_index.to(device)
        ops = {}
        for name in PRIMITIVES:
            op = make_op(name, channels).to(device).eval()
            ops[name] = time_call(lambda op=op: op(x, edge_index), device, repeats)
        pre = PointMLP([STEPS * channels, channels], "relu", "batch", bias=False).to(device).eval()
        t_pre = 2 * time_call(lambda: pre(cat), device, repeats)
        return cls(ops, t_pre, num_cells, str(device))

    def vector(self) -> Tensor:
        """The operation latencies in ``PRIMITIVES`` order."""
        return torch.tensor([self.ops[name] for name in PRIMITIVES])

    def expected(self, edge_weights: Tensor) -> Tensor:
        """:math:`\\mathbb{E}[T]` in ms for edge weights :math:`(9, |O|)` (differentiable)."""
        t = self.vector().to(edge_weights)
        return self.num_cells * (self.pre + (edge_weights * t).sum())

    def to_dict(self) -> dict:
        return {
            "ops": self.ops,
            "pre": self.pre,
            "num_cells": self.num_cells,
            "device": self.device,
        }


def latency_loss(expected: Tensor, target: float, weight: float = 1.0) -> Tensor:
    """The hinge :math:`\\lambda \\max(0, \\mathbb{E}[T] - T^*) / T^*`."""
    if target <= 0:
        raise ValueError(f"latency target={target} ms must be > 0")
    return weight * torch.relu(expected - target) / target


def measure_cells(
    genotype: Genotype,
    num_nodes: int,
    channels: int,
    edge_index: Tensor,
    num_cells: int,
    device: torch.device | str = "cpu",
    repeats: int = 10,
) -> float:
    """Milliseconds of ``num_cells`` cells of ``genotype`` (input maps included) on random
    features over ``edge_index``, in inference mode: the measured counterpart of
    :meth:`LatencyTable.expected` for the chosen architecture."""
    device = torch.device(device)
    c = STEPS * channels
    cells = nn.ModuleList(EvalCell(genotype, c, c, channels) for _ in range(num_cells))
    cells = cells.to(device).eval()
    x = torch.randn(num_nodes, c, device=device)
    edge_index = edge_index.to(device)

    def run() -> None:
        s0 = s1 = x
        for cell in cells:
            s0, s1 = s1, cell(s0, s1, edge_index)

    return time_call(run, device, repeats)
