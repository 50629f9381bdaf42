import pytest
import torch
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr import SumAggregation, aggregation_resolver
from tests.helpers import rel_err
from tests.nn.aggr.common import INDEX, N, messages, run


@pytest.mark.parametrize("lean", [False, True])
def test_sum_equals_pyg_and_its_gradient_is_the_output_gradient(lean):
    m = messages()
    out, grad_m, _ = run(SumAggregation(), m, lean=lean)
    assert rel_err(out, pyg_aggr.SumAggregation()(m, INDEX, dim_size=N)) <= 1e-12
    weight = torch.linspace(-1.0, 2.0, out.numel(), dtype=m.dtype).view(out.shape)
    assert torch.equal(grad_m, weight[INDEX])  # d sum / d m_vu = 1 for the edge's target
    assert isinstance(aggregation_resolver("add"), SumAggregation)
