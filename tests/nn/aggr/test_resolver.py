import copy
import math

import pytest
import torch
from torch_geometric.nn.aggr import PowerMeanAggregation as PygPowerMean

from revgnn.nn.aggr import (
    AGGREGATIONS,
    PowerMeanAggregation,
    SoftmaxAggregation,
    aggregation_resolver,
    fused_aggregate,
)
from tests.helpers import rel_err

# A 5-node graph: in-degrees 3, 2, 3, 1, 0 (node 4 is isolated: it only sends).
SRC = [1, 2, 3, 0, 2, 1, 3, 4, 4]
DST = [0, 0, 0, 1, 1, 2, 2, 2, 3]
N, D = 5, 3
INDEX = torch.tensor(DST)
ISOLATED = 4

# Every registered aggregator, once (aliases left out).
NAMES = [n for n in AGGREGATIONS if n not in ("add", "powermean")]


def messages(dtype=torch.float64, seed=0, low=0.1, high=2.0):
    g = torch.Generator().manual_seed(seed)
    return (low + (high - low) * torch.rand(len(DST), D, generator=g)).to(dtype)


def reference(name, m, t=1.0, p=1.0, y=0.0):
    """The aggregator written directly from its formula, node by node."""
    rows = []
    for v in range(N):
        mv = m[v == INDEX]
        if mv.size(0) == 0:
            rows.append(torch.zeros(D, dtype=m.dtype))
            continue
        if name in ("softmax", "softmax_sg", "softmax_sum"):
            w = torch.exp(t * mv) / torch.exp(t * mv).sum(0)
            if name == "softmax_sg":
                w = w.detach()
            out = (w * mv).sum(0)
        elif name in ("power", "power_sum"):
            out = (mv**p).mean(0) ** (1.0 / p)
        elif name == "mean":
            out = mv.mean(0)
        elif name == "sum":
            out = mv.sum(0)
        elif name == "max":
            out = mv.max(0).values
        if name.endswith("_sum") and name != "sum":
            out = out * mv.size(0) ** torch.sigmoid(y)
        rows.append(out)
    return torch.stack(rows)


def learnable(name, channels=1, dtype=torch.float64):
    """The aggregator with every parameter it has learnable, at non-trivial values."""
    kw = {"t": 1.7, "p": 2.5, "y": 0.3, "channels": channels}
    if name != "softmax_sg":
        kw.update(learn_t=True, learn_p=True, learn_y=True)
    else:
        kw["channels"] = 1
    return aggregation_resolver(name, **kw).to(dtype)


def params_of(aggr):
    return {k: getattr(aggr, k) for k in ("t", "p", "y") if hasattr(aggr, k)}


def run(aggr, m, *, lean, chunk_size=None):
    aggr = copy.deepcopy(aggr)
    aggr.lean, aggr.chunk_size = lean, chunk_size
    m = m.clone().requires_grad_()
    out = aggr(m, INDEX, dim_size=N)
    weight = torch.linspace(-1.0, 2.0, N * D, dtype=m.dtype).view(N, D)
    (out * weight).sum().backward()
    grads = {k: v.grad for k, v in params_of(aggr).items() if isinstance(v, torch.Tensor)}
    return out, m.grad, grads


PATHS = [
    pytest.param({"lean": False}, id="plain"),
    pytest.param({"lean": True}, id="lean"),
    pytest.param({"lean": True, "chunk_size": 2}, id="lean-chunked"),
]


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


@pytest.mark.parametrize("lean", [False, True])
def test_softmax_limits_are_mean_and_max(lean):
    m = messages(torch.float32)
    mean, mx = reference("mean", m), reference("max", m)
    small = SoftmaxAggregation(t=1e-6, lean=lean)(m, INDEX, dim_size=N)
    large = SoftmaxAggregation(t=1e3, lean=lean)(m, INDEX, dim_size=N)
    assert (small - mean).abs().max() <= 1e-5
    assert (large - mx).abs().max() <= 1e-3
    assert (large - mean).abs().max() > 0.1  # the limits are far apart on this graph


@pytest.mark.parametrize("lean", [False, True])
def test_power_mean_limits_are_mean_and_max(lean):
    m = messages(torch.float32)
    one = PowerMeanAggregation(p=1.0, lean=lean)(m, INDEX, dim_size=N)
    big = PowerMeanAggregation(p=400.0, lean=lean)(m, INDEX, dim_size=N)
    assert rel_err(one, reference("mean", m)) <= 1e-6
    # (mean m^p)^(1/p) >= max * deg^(-1/p): within 0.3% of the max at p = 400, degree <= 3.
    assert rel_err(big, reference("max", m)) <= 3e-3


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("lean", [False, True])
def test_softmax_with_beta_1e3_does_not_overflow(dtype, lean):
    # beta * m reaches 1e4: exp overflows without subtracting the per-node maximum.
    m = messages(torch.float32, low=1.0, high=10.0).to(dtype).requires_grad_()
    aggr = SoftmaxAggregation(t=1e3, learn=True, lean=lean)
    out = aggr(m, INDEX, dim_size=N)
    out.float().sum().backward()
    if lean:  # the lean path returns the messages' dtype (PyG's softmax promotes to t's)
        assert out.dtype == dtype
    assert torch.isfinite(out).all() and torch.isfinite(m.grad).all()
    assert torch.isfinite(aggr.t.grad).all()
    ref = reference("max", m.detach().double())
    tol = 1e-2 if dtype == torch.bfloat16 else 1e-5
    assert rel_err(out, ref) <= tol


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


@pytest.mark.parametrize("name", NAMES)
def test_lean_equals_plain_in_fp32(name):
    g = torch.Generator().manual_seed(3)
    num_nodes, num_edges = 60, 600
    index = torch.randint(0, num_nodes, (num_edges,), generator=g)
    m = torch.rand(num_edges, 16, generator=g) * 3
    aggr = learnable(name, dtype=torch.float32)
    results = {}
    for lean, chunk in ((False, None), (True, None), (True, 128)):
        a = copy.deepcopy(aggr)
        a.lean, a.chunk_size = lean, chunk
        mm = m.clone().requires_grad_()
        out = a(mm, index, dim_size=num_nodes)
        out.sin().sum().backward()
        results[lean, chunk] = [out, mm.grad]
    for key in ((True, None), (True, 128)):
        for got, ref in zip(results[key], results[False, None]):
            assert rel_err(got, ref) <= 1e-5


def test_fused_messages_equal_the_materialised_ones():
    # relu(x_j + W e + b) + eps computed inside the lean node, against autograd on the
    # materialised messages; every input receives the same gradient.
    g = torch.Generator().manual_seed(5)
    x, e = torch.randn(N, D, generator=g), torch.randn(len(DST), 4, generator=g)
    w, b = torch.randn(D, 4, generator=g), torch.randn(D, generator=g)
    src, dst = torch.tensor(SRC), INDEX
    results = []
    for lean in (False, True):
        aggr = SoftmaxAggregation(t=2.0, learn=True, lean=lean)
        leaves = [t.clone().requires_grad_() for t in (x, e, w, b)]
        xx, ee, ww, bb = leaves
        if lean:
            out = fused_aggregate(
                aggr, dst, N, src=src, x=xx, edge_attr=ee, weight=ww, bias=bb, relu=True, eps=1e-7
            )
        else:
            msg = (xx[src] + torch.nn.functional.linear(ee, ww, bb)).relu() + 1e-7
            out = aggr(msg, dst, dim_size=N)
        out.square().sum().backward()
        results.append([out] + [t.grad for t in leaves] + [aggr.t.grad])
    for got, ref in zip(results[1], results[0]):
        assert rel_err(got, ref) <= 1e-5


def test_lean_path_refuses_double_backward():
    m = messages(torch.float32).requires_grad_()
    out = SoftmaxAggregation(lean=True)(m, INDEX, dim_size=N)
    with pytest.raises(RuntimeError, match="does not support double backward"):
        torch.autograd.grad(out.sum(), m, create_graph=True)
    # The plain path is differentiable twice.
    out = SoftmaxAggregation(lean=False)(m, INDEX, dim_size=N)
    (grad,) = torch.autograd.grad(out.sum(), m, create_graph=True)
    grad.square().sum().backward()
    assert torch.isfinite(m.grad).all()


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


def test_learned_p_near_zero_is_kept_away_from_it():
    aggr = PowerMeanAggregation(p=0.5, learn=True)
    with torch.no_grad():
        aggr.p.fill_(1e-5)
    out = aggr(messages(torch.float32), INDEX, dim_size=N)
    assert torch.isfinite(out).all()
    ref = reference("power", messages(), p=1e-3)
    assert rel_err(out, ref) <= 1e-4
    assert math.isclose(aggr.lean_param().item(), 1e-3, rel_tol=1e-6)


def test_reset_parameters_and_repr():
    aggr = aggregation_resolver("softmax_sum", t=0.5, learn_t=True, learn_y=True, lean=False)
    with torch.no_grad():
        aggr.t.fill_(3.0)
        aggr.y.fill_(-2.0)
    aggr.reset_parameters()
    assert aggr.t.item() == 0.5 and aggr.y.item() == 0.0
    assert repr(aggr) == "SoftmaxSumAggregation(learn=True, learn_y=True, lean=False)"
    assert "chunk_size=64" in repr(aggregation_resolver("max", chunk_size=64))
