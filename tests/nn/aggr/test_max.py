import pytest
import torch
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr import MaxAggregation
from tests.helpers import rel_err
from tests.nn.aggr.common import INDEX, N, messages, run


@pytest.mark.parametrize("chunk_size", [None, 2])
@pytest.mark.parametrize("lean", [False, True])
def test_max_equals_pyg_and_ties_share_the_gradient(lean, chunk_size):
    m = messages()
    out, _, _ = run(MaxAggregation(), m, lean=lean, chunk_size=chunk_size)
    assert rel_err(out, pyg_aggr.MaxAggregation()(m, INDEX, dim_size=N)) <= 1e-12
    # Two messages of 5 and one of 1 into node 0: each maximum gets half the gradient.
    ties = torch.tensor([[5.0], [5.0], [1.0]], requires_grad=True)
    aggr = MaxAggregation(lean=lean, chunk_size=chunk_size)
    aggr(ties, torch.zeros(3, dtype=torch.long), dim_size=1).sum().backward()
    assert ties.grad.view(-1).tolist() == [0.5, 0.5, 0.0]
