import pytest
import torch

from revgnn.nn.aggr import (
    DegreeScaled,
    MeanAggregation,
    PowerMeanAggregation,
    SoftmaxAggregation,
    aggregation_resolver,
    fused_aggregate,
)
from tests.nn.aggr.common import (
    INDEX,
    NAMES,
    D,
    N,
    learnable,
    messages,
    reference,
)


def test_argument_errors():
    with pytest.raises(ValueError, match="semi_grad=True"):
        SoftmaxAggregation(learn=True, semi_grad=True)
    with pytest.raises(ValueError, match=r"channels=3 .* needs learn=True"):
        SoftmaxAggregation(channels=3)
    with pytest.raises(ValueError, match=r"clamp_min=0\.0 must be > 0"):
        PowerMeanAggregation(clamp_min=0.0)
    with pytest.raises(ValueError, match=r"p=0.0 must satisfy \|p\| >= p_min"):
        PowerMeanAggregation(p=0.0)
    with pytest.raises(ValueError, match="chunk_size=0 must be at least 1"):
        SoftmaxAggregation(chunk_size=0)
    with pytest.raises(ValueError, match="aggr='median' is not one of"):
        aggregation_resolver("median")
    with pytest.raises(ValueError, match="edge_attr has 3 rows but there are 9 edges"):
        fused_aggregate(SoftmaxAggregation(), INDEX, N, edge_attr=torch.randn(3, D))


@pytest.mark.parametrize("lean", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_ptr_gives_the_index_result(name, lean):
    # CSR offsets of messages sorted by target, as PyG passes them for a sparse adjacency.
    order = INDEX.argsort(stable=True)
    m = messages()[order]
    index = INDEX[order]
    ptr = torch.zeros(N + 1, dtype=torch.long)
    ptr[1:] = torch.bincount(index, minlength=N).cumsum(0)
    aggr = learnable(name)
    aggr.lean = lean
    by_index = aggr(m, index, dim_size=N)
    by_ptr = aggr(m, ptr=ptr)
    assert by_ptr.shape == (N, D)
    assert torch.equal(by_ptr, by_index)


def test_int32_index_and_missing_or_bad_index():
    m = messages()
    aggr = learnable("softmax")
    assert torch.equal(aggr(m, INDEX.int(), dim_size=N), aggr(m, INDEX, dim_size=N))
    # As in PyG, no index and no ptr reduce every message into one output row.
    zeros = torch.zeros(m.size(0), dtype=torch.long)
    assert torch.equal(aggr(m), aggr(m, zeros, dim_size=1))
    with pytest.raises(ValueError, match="index has 3 entries but there are 9 messages"):
        aggr(m, INDEX[:3], dim_size=N)
    with pytest.raises(ValueError, match="ptr must be 1-D CSR offsets ending at the number"):
        aggr(m, ptr=torch.tensor([0, 4]))


class _MeanSum(DegreeScaled, MeanAggregation):
    """A *_Sum kind a user makes of an aggregation by listing the mixin first."""


@pytest.mark.parametrize("lean", [False, True])
def test_degree_scaled_makes_a_sum_kind_of_any_aggregation(lean):
    aggr = _MeanSum(y=0.3, learn_y=True, lean=lean).double()
    m = messages()
    out = aggr(m, INDEX, dim_size=N)
    deg = torch.bincount(INDEX, minlength=N).clamp_min(1).double().unsqueeze(1)
    y = torch.tensor(0.3, dtype=torch.float64)
    torch.testing.assert_close(out, reference("mean", m) * deg ** torch.sigmoid(y))
    out.sum().backward()
    assert aggr.y.grad is not None and aggr.y.grad.abs().sum() > 0
    assert repr(aggr) == f"_MeanSum(learn_y=True{'' if lean else ', lean=False'})"
    with torch.no_grad():
        aggr.y.fill_(-2.0)
    aggr.reset_parameters()
    assert aggr.y.item() == 0.3
