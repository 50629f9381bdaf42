from __future__ import annotations

import torch

from revgnn.solvers import (
    solve,
)
from tests.solvers.common import SOLVERS, D, N, graph_map


def test_anderson_and_broyden_need_fewer_evaluations_than_plain_iteration():
    f = graph_map(0.99)
    counts = {
        s: solve(f, torch.zeros(N, D), max_iter=500, tol=1e-6, solver=s)[1].iterations
        for s in SOLVERS
    }
    assert counts["anderson"] < counts["fixed_point"]
    assert counts["broyden"] < counts["fixed_point"]
