"""A contraction on a random graph (or an expansion), shared by the solver tests."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from tests.helpers import random_graph

N, D, E = 40, 8, 160
SOLVERS = ["fixed_point", "anderson", "broyden"]


def graph_map(scale: float, seed: int = 0, edge_index: Tensor | None = None):
    """f(z) = tanh(scale * mean_{u->v} z_u W + b): a contraction for scale < 1 (||W||_2 = 1,
    tanh is 1-Lipschitz, mean aggregation has norm <= 1 row-wise), expansive for large scale."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(D, D, generator=g)
    w = w / torch.linalg.matrix_norm(w, 2)
    b = torch.randn(N, D, generator=g)
    ei = random_graph(N, E, seed) if edge_index is None else edge_index

    def f(z: Tensor) -> Tensor:
        msg = scatter(z[ei[0]], ei[1], 0, dim_size=z.size(0), reduce="mean")
        return torch.tanh(scale * msg @ w.to(z.dtype) + b.to(z.dtype))

    return f


def global_residual(f, z: Tensor) -> float:
    z = z.double()
    return ((f(z) - z).norm() / z.norm()).item()
