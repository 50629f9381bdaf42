import pytest
import torch
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr import MultiAggregation, SoftmaxAggregation
from tests.helpers import rel_err

X = torch.randn(7, 16, generator=torch.Generator().manual_seed(0))
INDEX = torch.tensor([0, 0, 1, 1, 1, 2, 3])


@pytest.mark.parametrize("mode", ["cat", "sum", "mean", "max"])
def test_equals_pygs_multi_aggregation(mode):
    ours = MultiAggregation(["mean", "sum", "max"], mode=mode)
    theirs = pyg_aggr.MultiAggregation(["mean", "sum", "max"], mode=mode)
    assert rel_err(ours(X, INDEX), theirs(X, INDEX)) < 1e-6
    assert ours.get_out_channels(16) == (48 if mode == "cat" else 16)


def test_lean_and_plain_paths_and_options_reach_every_member():
    lean = MultiAggregation(["softmax", "power"], [{"t": 0.5, "learn_t": True}, {"p": 2.0}])
    assert isinstance(lean.aggrs[0], SoftmaxAggregation) and lean.aggrs[0].learn
    x = X.abs().requires_grad_()
    out = lean(x, INDEX)
    grads = torch.autograd.grad(out.square().sum(), [x, lean.aggrs[0].t])
    lean.lean = False
    assert not lean.lean
    ref = lean(x, INDEX)
    ref_grads = torch.autograd.grad(ref.square().sum(), [x, lean.aggrs[0].t])
    assert rel_err(out, ref) < 1e-6
    assert all(rel_err(a, b) < 1e-5 for a, b in zip(grads, ref_grads))
    with pytest.raises(ValueError, match="aggrs_kwargs has 1 entries for 2 aggregators"):
        MultiAggregation(["mean", "max"], [{}])
    with pytest.raises(ValueError, match="aggrs must be a non-empty list"):
        MultiAggregation([])
