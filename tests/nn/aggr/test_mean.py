import pytest
import torch
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr import MeanAggregation
from tests.helpers import rel_err
from tests.nn.aggr.common import INDEX, ISOLATED, N, messages, run


@pytest.mark.parametrize("lean", [False, True])
def test_mean_equals_pyg_with_the_gradient_shared_by_the_in_edges(lean):
    m = messages()
    out, grad_m, _ = run(MeanAggregation(), m, lean=lean)
    assert rel_err(out, pyg_aggr.MeanAggregation()(m, INDEX, dim_size=N)) <= 1e-12
    assert torch.equal(out[ISOLATED], torch.zeros_like(out[ISOLATED]))
    weight = torch.linspace(-1.0, 2.0, out.numel(), dtype=m.dtype).view(out.shape)
    deg = torch.bincount(INDEX, minlength=N).to(m.dtype)
    assert rel_err(grad_m, weight[INDEX] / deg[INDEX].unsqueeze(1)) <= 1e-12
