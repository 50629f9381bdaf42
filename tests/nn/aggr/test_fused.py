"""The compiled aggregation kernels equal the eager lean path: outputs and every gradient."""

import pytest
import torch

from revgnn.nn.aggr import AGGREGATIONS, fused
from revgnn.nn.conv import GENConv
from revgnn.utils.compile import compile_stats, set_compile

CASES = [
    ("softmax", {"learn_t": True}),
    ("softmax", {"aggr_kwargs": {"learn": True, "t": 0.5, "channels": 8}}),
    ("softmax_sg", {}),
    ("powermean", {"learn_p": True, "p": 2.0}),
    ("powermean", {"learn_p": True, "p": -1.5}),
    ("max", {}),
    ("mean", {}),
    ("sum", {}),
    ("softmax_sum", {"learn_t": True, "learn_y": True}),
]


def run(aggr, kw, dtype, edge_dim, compile_on):
    set_compile(compile_on)
    torch.manual_seed(1)
    n, e = 40, 200
    index = torch.randint(0, n, (2, e), generator=torch.Generator().manual_seed(0))
    index[1, :5] = 0  # a node with several in-edges, and (below) one with none
    index[1][index[1] == n - 1] = 1
    conv = GENConv(8, 8, aggr=aggr, edge_dim=edge_dim, norm="layer", **kw).to(dtype)
    x = torch.randn(n, 8, dtype=dtype, requires_grad=True)
    attr = torch.randn(e, 4, dtype=dtype, requires_grad=True) if edge_dim else None
    out = conv(x, index, attr)
    (out * torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)).sum().backward()
    grads = {name: p.grad for name, p in conv.named_parameters() if p.grad is not None}
    grads["x"] = x.grad
    if attr is not None:
        grads["edge_attr"] = attr.grad
    return out.detach(), grads


@pytest.mark.parametrize(("aggr", "kw"), CASES)
@pytest.mark.parametrize(("dtype", "edge_dim"), [(torch.float32, 4), (torch.float64, None)])
def test_compiled_equals_eager(compiled, aggr, kw, dtype, edge_dim):
    fallbacks = compile_stats().fallbacks
    backward = AGGREGATIONS[aggr].fused_backward
    fused._KERNELS.pop(backward, None)  # present again only if this run took the fused path
    out_c, grads_c = run(aggr, kw, dtype, edge_dim, True)
    assert not fused._KERNELS[backward].failed
    assert compile_stats().fallbacks == fallbacks
    out_e, grads_e = run(aggr, kw, dtype, edge_dim, False)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-12}
    torch.testing.assert_close(out_c, out_e, **tol)
    assert grads_c.keys() == grads_e.keys()
    for name in grads_e:
        scale = grads_e[name].abs().max().clamp_min(1.0)
        torch.testing.assert_close(grads_c[name] / scale, grads_e[name] / scale, **tol, msg=name)


def test_new_sizes_do_not_recompile(compiled):
    conv = GENConv(8, 8, aggr="softmax", learn_t=True)
    counts = []
    for n, e in [(30, 120), (45, 300), (60, 500), (37, 150)]:
        index = torch.randint(0, n, (2, e), generator=torch.Generator().manual_seed(n))
        x = torch.randn(n, 8, requires_grad=True)
        conv(x, index).sum().backward()
        counts.append(compile_stats().compilations)
    # The first sizes may compile (a static first graph, then a dynamic one); then none.
    assert counts[-1] == counts[-2]
