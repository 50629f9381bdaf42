"""The 5-node graph, messages and reference formulas the aggregator tests share."""

import copy

import pytest
import torch

from revgnn.nn.aggr import AGGREGATIONS, aggregation_resolver

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
