import copy

import pytest
import torch

from revgnn.nn.aggr import (
    SoftmaxAggregation,
    fused_aggregate,
)
from tests.helpers import rel_err
from tests.nn.aggr.common import (
    DST,
    INDEX,
    NAMES,
    SRC,
    D,
    N,
    learnable,
    messages,
)


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


@pytest.mark.parametrize("name", NAMES)
def test_sorted_segments_give_the_unsorted_result(name):
    # The sorted-segment path (default) against the scatter over the given edge order, with
    # the learnable parameters' gradients: the sort changes only summation order.
    from revgnn.nn.aggr import set_sorted_segments

    g = torch.Generator().manual_seed(4)
    index = torch.randint(0, 50, (500,), generator=g)
    m = torch.rand(500, 8, generator=g, dtype=torch.float64) * 3
    aggr = learnable(name, dtype=torch.float64)
    results = []
    for enabled in (True, False):
        set_sorted_segments(enabled)
        try:
            a = copy.deepcopy(aggr)
            mm = m.clone().requires_grad_()
            out = a(mm, index, dim_size=50)
            out.sin().sum().backward()
            grads = [p.grad for p in a.parameters() if p.grad is not None]
            results.append([out, mm.grad, *grads])
        finally:
            set_sorted_segments(True)
    assert len(results[0]) == len(results[1])
    for got, ref in zip(*results):
        assert rel_err(got, ref) <= 1e-10
