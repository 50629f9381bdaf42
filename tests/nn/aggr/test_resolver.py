import copy

import pytest
import torch

from revgnn.nn.aggr import (
    aggregation_resolver,
)
from tests.helpers import rel_err
from tests.nn.aggr.common import (
    ISOLATED,
    NAMES,
    PATHS,
    D,
    N,
    learnable,
    messages,
    params_of,
    reference,
    run,
)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("channels", [1, D])
@pytest.mark.parametrize("name", NAMES)
def test_output_and_gradients_equal_the_formula(name, channels, path):
    m = messages()
    aggr = learnable(name, channels)
    out, grad_m, grads = run(aggr, m, **path)

    ref_aggr = copy.deepcopy(aggr)
    ref_params = {k: v for k, v in params_of(ref_aggr).items() if isinstance(v, torch.Tensor)}
    values = {k: ref_params.get(k, v) for k, v in params_of(aggr).items()}
    mm = m.clone().requires_grad_()
    ref = reference(name, mm, **values)
    weight = torch.linspace(-1.0, 2.0, N * D, dtype=m.dtype).view(N, D)
    (ref * weight).sum().backward()

    assert rel_err(out, ref) <= 1e-12
    assert rel_err(grad_m, mm.grad) <= 1e-12
    assert grads.keys() == ref_params.keys()
    for key, g in grads.items():
        # Learnable parameters receive the formula's gradient (and a non-zero one).
        assert g is not None and g.abs().sum() > 0, key
        assert g.shape == ref_params[key].shape
        assert rel_err(g, ref_params[key].grad) <= 1e-10, key


def test_every_learnable_parameter_is_reported():
    # Guards the test above: the aggregators that have parameters expose them as tensors.
    expected = {
        "softmax": {"t"},
        "softmax_sg": set(),
        "softmax_sum": {"t", "y"},
        "power": {"p"},
        "power_sum": {"p", "y"},
        "mean": set(),
        "max": set(),
        "sum": set(),
    }
    for name, keys in expected.items():
        got = {n.split(".")[-1] for n, _ in learnable(name).named_parameters()}
        assert got == keys, name


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", NAMES)
def test_isolated_nodes_aggregate_to_zero_with_finite_gradients(name, path):
    m = messages(torch.float32)
    for p in (2.5, -1.5):  # the power mean uses the per-node minimum for p < 0
        aggr = aggregation_resolver(name, learn_t=name != "softmax_sg", learn_p=True, p=p)
        out, grad_m, grads = run(aggr, m, **path)
        assert torch.equal(out[ISOLATED], torch.zeros(D))
        assert torch.isfinite(out).all() and torch.isfinite(grad_m).all()
        assert all(torch.isfinite(g).all() for g in grads.values())


def test_reset_parameters_and_repr():
    aggr = aggregation_resolver("softmax_sum", t=0.5, learn_t=True, learn_y=True, lean=False)
    with torch.no_grad():
        aggr.t.fill_(3.0)
        aggr.y.fill_(-2.0)
    aggr.reset_parameters()
    assert aggr.t.item() == 0.5 and aggr.y.item() == 0.0
    assert repr(aggr) == "SoftmaxSumAggregation(learn=True, learn_y=True, lean=False)"
    assert "chunk_size=64" in repr(aggregation_resolver("max", chunk_size=64))


def test_an_aggregator_class_registers_its_names():
    # What adding an aggregator file does: the class's names reach the resolver.
    from revgnn.nn.aggr import AGGREGATIONS as registry
    from revgnn.nn.aggr import MaxAggregation

    class NegatedMax(MaxAggregation):
        names = ("test_negated_max",)

    try:
        assert isinstance(aggregation_resolver("test_negated_max"), NegatedMax)
        with pytest.raises(ValueError, match=r"name 'test_negated_max' is already registered to"):
            type("Again", (MaxAggregation,), {"names": ("test_negated_max",)})
    finally:
        del registry["test_negated_max"]
    with pytest.raises(ValueError, match="aggr='median' is not one of add, max, mean"):
        aggregation_resolver("median")
    with pytest.raises(TypeError, match="aggr must be a name or a revgnn LeanAggregation"):
        aggregation_resolver(3)
