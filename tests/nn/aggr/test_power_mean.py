import math

import pytest
import torch
from torch_geometric.nn.aggr import PowerMeanAggregation as PygPowerMean

from revgnn.nn.aggr import (
    PowerMeanAggregation,
)
from tests.helpers import rel_err
from tests.nn.aggr.common import (
    DST,
    INDEX,
    ISOLATED,
    D,
    N,
    messages,
    reference,
)


@pytest.mark.parametrize("lean", [False, True])
def test_power_mean_limits_are_mean_and_max(lean):
    m = messages(torch.float32)
    one = PowerMeanAggregation(p=1.0, lean=lean)(m, INDEX, dim_size=N)
    big = PowerMeanAggregation(p=400.0, lean=lean)(m, INDEX, dim_size=N)
    assert rel_err(one, reference("mean", m)) <= 1e-6
    # (mean m^p)^(1/p) >= max * deg^(-1/p): within 0.3% of the max at p = 400, degree <= 3.
    assert rel_err(big, reference("max", m)) <= 3e-3


@pytest.mark.parametrize("lean", [False, True])
def test_power_mean_with_large_p_does_not_overflow(lean):
    # 100^50 = 1e100 overflows fp32: the per-node maximum is factored out first.
    m = messages(torch.float32, low=50.0, high=100.0).requires_grad_()
    aggr = PowerMeanAggregation(p=50.0, learn=True, lean=lean)
    out = aggr(m, INDEX, dim_size=N)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(m.grad).all()
    assert torch.isfinite(aggr.p.grad).all()
    ref = reference("power", m.detach().double(), p=50.0)
    assert rel_err(out, ref) <= 1e-5


def test_power_mean_clamps_only_the_messages_unlike_pyg():
    # All messages 10 and p = 3: the power mean is 10. PyG clamps the mean of m^p to 100,
    # which caps the output at 100^(1/3) = 4.64 (the original code's cap is 10^(1/3)).
    m = torch.full((len(DST), D), 10.0)
    ours = PowerMeanAggregation(p=3.0)(m, INDEX, dim_size=N)
    pyg = PygPowerMean(p=3.0)(m, INDEX, dim_size=N)
    has_edges = torch.arange(N) != ISOLATED
    assert torch.allclose(ours[has_edges], torch.tensor(10.0), rtol=1e-6)
    assert torch.allclose(pyg[has_edges], torch.tensor(100.0 ** (1 / 3)), rtol=1e-5)
    # Messages below clamp_min count as clamp_min, and get no gradient.
    m = torch.tensor([[0.0], [-1.0], [4.0]], requires_grad=True)
    aggr = PowerMeanAggregation(p=2.0, clamp_min=1e-3)
    out = aggr(m, torch.zeros(3, dtype=torch.long), dim_size=1)
    out.sum().backward()
    assert torch.allclose(out, ((2 * 1e-6 + 16.0) / 3) ** 0.5 * torch.ones(1, 1))
    assert m.grad[0] == 0 and m.grad[1] == 0 and m.grad[2] > 0


def test_learned_p_near_zero_is_kept_away_from_it():
    aggr = PowerMeanAggregation(p=0.5, learn=True)
    with torch.no_grad():
        aggr.p.fill_(1e-5)
    out = aggr(messages(torch.float32), INDEX, dim_size=N)
    assert torch.isfinite(out).all()
    ref = reference("power", messages(), p=1e-3)
    assert rel_err(out, ref) <= 1e-4
    assert math.isclose(aggr.lean_param().item(), 1e-3, rel_tol=1e-6)


@pytest.mark.parametrize("lean", [False, True])
def test_fixed_p_1_is_the_mean_of_messages_of_any_sign(lean):
    # [-1, 3] into one node: the mean is 1.0 (PyG too); clamping to positive gave 1.5.
    m = torch.tensor([[-1.0], [3.0]], requires_grad=True)
    index = torch.zeros(2, dtype=torch.long)
    out = PowerMeanAggregation(p=1.0, lean=lean)(m, index, dim_size=1)
    assert out.item() == pytest.approx(1.0)
    assert PygPowerMean(p=1.0)(m, index, dim_size=1).item() == pytest.approx(1.0)
    out.sum().backward()
    assert m.grad.view(-1).tolist() == [0.5, 0.5]
    # A learned p is clamped (a power mean needs positive messages), starting at 1 or not.
    learned = PowerMeanAggregation(p=1.0, learn=True, lean=lean)(m, index, dim_size=1)
    assert learned.item() == pytest.approx(1.5, rel=1e-4)
