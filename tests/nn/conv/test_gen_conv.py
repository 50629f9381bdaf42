import copy

import pytest
import torch
from torch_geometric.nn import GENConv as PygGENConv

from revgnn import GENConv
from revgnn.memory import saved_activation_bytes
from revgnn.nn.aggr import AGGREGATIONS, SoftmaxAggregation
from tests.helpers import random_graph, rel_err

N, E, D, F_EDGE = 30, 240, 8, 5

# Every registered aggregator, once (aliases left out).
NAMES = [n for n in AGGREGATIONS if n not in ("add", "powermean")]


def data(dtype=torch.float32, num_nodes=N, num_edges=E, channels=D, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(num_nodes, channels, generator=g, dtype=dtype)
    edge_attr = torch.randn(num_edges, F_EDGE, generator=g, dtype=dtype)
    return x, random_graph(num_nodes, num_edges, seed), edge_attr


def learned(aggr: str, **kw) -> GENConv:
    torch.manual_seed(0)
    return GENConv(
        D,
        D,
        aggr,
        t=1.5,
        learn_t=aggr != "softmax_sg",
        p=2.0,
        learn_p=True,
        learn_y=True,
        edge_dim=F_EDGE,
        **kw,
    )


def step(conv, x, edge_index, edge_attr, lean):
    conv = copy.deepcopy(conv)
    conv.lean = lean
    x, edge_attr = x.clone().requires_grad_(), edge_attr.clone().requires_grad_()
    out = conv(x, edge_index, edge_attr)
    (out * torch.linspace(-1, 1, out.size(1), dtype=out.dtype)).sin().sum().backward()
    grads = {"out": out, "x": x.grad, "edge_attr": edge_attr.grad}
    grads.update({n: p.grad for n, p in conv.named_parameters()})
    return grads


@pytest.mark.parametrize("aggr", NAMES)
def test_lean_and_plain_give_the_same_outputs_and_gradients(aggr):
    # LayerNorm in the MLP: after BatchNorm the first bias has a zero gradient (pure noise).
    # MsgNorm divides out the degree scaling of the *_sum kinds (y would get no gradient).
    msg_norm = not aggr.endswith("_sum")
    conv = learned(aggr, norm="layer", msg_norm=msg_norm, learn_msg_scale=msg_norm)
    x, edge_index, edge_attr = data(torch.float64)
    ref64, got64 = (step(conv.double(), x, edge_index, edge_attr, lean) for lean in (False, True))
    assert ref64.keys() == got64.keys()
    for key in ref64:
        assert got64[key] is not None, key
        assert rel_err(got64[key], ref64[key]) <= 1e-10, key

    conv, x, edge_attr = conv.float(), x.float(), edge_attr.float()
    ref32, got32 = (step(conv, x, edge_index, edge_attr, lean) for lean in (False, True))
    for key in ref32:
        assert rel_err(got32[key], ref32[key]) <= 1e-5, key


@pytest.mark.parametrize("aggr", ["softmax", "power", "max", "mean"])
def test_chunked_lean_path_equals_unchunked(aggr):
    x, edge_index, edge_attr = data()
    whole = learned(aggr)
    sliced = copy.deepcopy(whole)
    sliced.aggr_module.chunk_size = 17  # 240 edges: 15 slices, the last one short
    ref = step(whole, x, edge_index, edge_attr, True)
    got = step(sliced, x, edge_index, edge_attr, True)
    for key in ref:
        if key != "mlp.0.bias":  # BatchNorm follows mlp.0: its gradient is rounding noise
            assert rel_err(got[key], ref[key]) <= 1e-5, key


@pytest.mark.parametrize("aggr", ["softmax", "softmax_sg", "max", "mean", "add"])
@pytest.mark.parametrize("lean", [False, True])
def test_matches_pyg_genconv_where_pyg_is_right(aggr, lean):
    # Same weights, same arithmetic: PyG's GENConv with bias=True has the same parameters.
    torch.manual_seed(0)
    pyg = PygGENConv(D, D, aggr=aggr, learn_t=aggr == "softmax", edge_dim=F_EDGE, bias=True)
    ours = GENConv(D, D, aggr, learn_t=aggr == "softmax", edge_dim=F_EDGE, lean=lean)
    ours.load_state_dict(pyg.state_dict())
    x, edge_index, edge_attr = data()
    assert rel_err(ours(x, edge_index, edge_attr), pyg(x, edge_index, edge_attr)) <= 1e-6


def test_power_mean_with_p_1_matches_pyg():
    torch.manual_seed(0)
    pyg = PygGENConv(D, D, aggr="powermean", edge_dim=F_EDGE, bias=True)
    ours = GENConv(D, D, "power", edge_dim=F_EDGE)
    ours.load_state_dict(pyg.state_dict())
    x, edge_index, edge_attr = data()
    assert rel_err(ours(x, edge_index, edge_attr), pyg(x, edge_index, edge_attr)) <= 1e-6


@pytest.mark.parametrize("norm", ["batch", "layer", None])
@pytest.mark.parametrize(
    ("in_channels", "out_channels", "mlp_layers"), [(D, D, 2), ((D, 6), 12, 3)]
)
def test_state_dicts_load_both_ways_with_pygs_genconv(norm, in_channels, out_channels, mlp_layers):
    # A PyG checkpoint loads into revgnn's conv and back, strictly, and computes the same.
    options = {"aggr": "softmax", "learn_t": True, "norm": norm, "num_layers": mlp_layers,
               "msg_norm": True, "learn_msg_scale": True, "edge_dim": F_EDGE,
               "bias": True}  # fmt: skip
    torch.manual_seed(0)
    pyg = PygGENConv(in_channels, out_channels, **options)
    torch.manual_seed(0)
    ours = GENConv(in_channels, out_channels, **options)
    # The same seed gives the same parameters, in PyG's order (its optimiser states load).
    theirs, mine = pyg.state_dict(), ours.state_dict()
    assert list(mine) == list(theirs) and all(torch.equal(mine[k], theirs[k]) for k in mine)
    torch.manual_seed(1)
    pyg = PygGENConv(in_channels, out_channels, **options)
    ours.load_state_dict(pyg.state_dict())
    x, edge_index, edge_attr = data()
    if isinstance(in_channels, tuple):
        x = (x, torch.randn(N, in_channels[1]))
    for train in (True, False):
        ours.train(train), pyg.train(train)
        assert rel_err(ours(x, edge_index, edge_attr), pyg(x, edge_index, edge_attr)) <= 1e-6
    pyg.load_state_dict(GENConv(in_channels, out_channels, **options).state_dict())


def test_formula_with_msg_norm_and_edge_encoder():
    torch.manual_seed(0)
    conv = GENConv(D, D, "softmax", t=0.7, msg_norm=True, learn_msg_scale=True, edge_dim=F_EDGE)
    with torch.no_grad():
        conv.msg_norm.scale.fill_(1.3)
    x, edge_index, edge_attr = data()
    src, dst = edge_index
    msg = (x[src] + conv.lin_edge(edge_attr)).relu() + 1e-7
    m = SoftmaxAggregation(t=0.7, lean=False)(msg, dst, dim_size=N)
    m = 1.3 * x.norm(dim=-1, keepdim=True) * m / m.norm(dim=-1, keepdim=True)
    ref = conv.mlp(x + m)
    out = conv(x, edge_index, edge_attr)
    assert rel_err(out, ref) <= 1e-6
    out.sum().backward()
    assert conv.msg_norm.scale.grad is not None and conv.msg_norm.scale.grad.abs() > 0


def test_per_channel_parameters():
    conv = GENConv(D, D, "softmax_sum", learn_t=True, learn_y=True, per_channel=True)
    assert conv.aggr_module.t.shape == (D,) and conv.aggr_module.y.shape == (D,)
    x, edge_index, _ = data()
    conv(x, edge_index).sum().backward()
    assert conv.aggr_module.t.grad.shape == (D,) and (conv.aggr_module.t.grad != 0).all()


def test_edge_encoder_rules_and_errors():
    assert GENConv(D, D, edge_dim=D).lin_edge is None  # PyG's rule: same width, no encoder
    assert GENConv(D, D, edge_dim=D, encode_edge=True).lin_edge is not None  # the original's
    assert GENConv(D, D, edge_dim=F_EDGE).lin_edge.in_channels == F_EDGE
    with pytest.raises(ValueError, match="encode_edge=True needs edge_dim"):
        GENConv(D, D, encode_edge=True)
    x, edge_index, edge_attr = data()
    with pytest.raises(ValueError, match="edge_attr has 5 features but this GENConv expects 8"):
        GENConv(D, D)(x, edge_index, edge_attr)
    with pytest.raises(ValueError, match="num_layers=0 must be at least 1"):
        GENConv(D, D, num_layers=0)


def test_different_input_and_output_widths():
    conv = GENConv(D, 12, "power", learn_p=True, edge_dim=F_EDGE)
    x, edge_index, edge_attr = data()
    out = conv(x, edge_index, edge_attr)
    assert out.shape == (N, 12)
    out.sum().backward()
    assert conv.lin_src.weight.grad is not None and conv.lin_dst.weight.grad is not None


@pytest.mark.parametrize("aggr", ["softmax", "power"])
def test_lean_layer_saves_at_most_a_third_of_the_plain_layer(aggr):
    # 20 edges per node: the plain path keeps several E x D tensors, the lean one none.
    x, edge_index, edge_attr = data(num_nodes=100, num_edges=2000, channels=32)
    x.requires_grad_()
    conv = GENConv(32, 32, aggr, learn_t=True, learn_p=True, edge_dim=F_EDGE)
    saved = {}
    for lean in (False, True):
        conv.lean = lean
        out, s = saved_activation_bytes(
            lambda: conv(x, edge_index, edge_attr), exclude=[conv, x, edge_attr, edge_index]
        )
        out.sum().backward()  # the counted graph is a working one
        saved[lean] = s.total
    assert saved[True] <= 0.35 * saved[False], saved
    # What the lean layer keeps is O(N D + E): not more than ~12 node-feature tensors.
    assert saved[True] <= 12 * x.numel() * 4 + 2 * edge_index.numel() * 8, saved


def test_bf16_autocast_lean_matches_plain():
    conv = learned("softmax")
    x, edge_index, edge_attr = data()
    results = {}
    for lean in (False, True):
        c = copy.deepcopy(conv)
        c.lean = lean
        xx = x.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = c(xx, edge_index, edge_attr)
        out.float().square().mean().backward()
        results[lean] = [out.float(), xx.grad] + [p.grad for p in c.mlp.parameters()]
    for got, ref in zip(results[True], results[False]):
        assert torch.isfinite(got).all()
        assert rel_err(got, ref) <= 2e-2


def test_repr_and_reset_parameters():
    conv = GENConv(D, D, "softmax", t=0.5, learn_t=True, edge_dim=F_EDGE, msg_norm=True)
    assert repr(conv) == "GENConv(8, 8, aggr=softmax)"  # PyG's repr
    assert repr(conv.aggr_module) == "SoftmaxAggregation(learn=True)"
    before = copy.deepcopy(conv.state_dict())
    with torch.no_grad():
        for p in conv.parameters():
            p.add_(1.0)
    conv.reset_parameters()
    assert conv.aggr_module.t.item() == 0.5
    assert not torch.equal(conv.lin_edge.weight, before["lin_edge.weight"])  # re-drawn
    assert torch.equal(conv.mlp[1].weight, torch.ones(2 * D))


@pytest.mark.parametrize("lean", [True, False])
@pytest.mark.parametrize("layout", ["csr", "coo"])
def test_sparse_adjacency_gives_the_edge_index_result(layout, lean):
    # PyG's examples pass adj_t, the transposed adjacency (row = target, column = source).
    from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

    torch.manual_seed(0)
    conv = GENConv(D, D, "softmax", learn_t=True, lean=lean)
    x, edge_index, _ = data()
    edge_index = torch.unique(edge_index, dim=1)  # an adjacency holds each edge once
    to_sparse = to_torch_csr_tensor if layout == "csr" else to_torch_coo_tensor
    adj_t = to_sparse(edge_index.flip(0), size=(N, N))
    xs = x.clone().requires_grad_()
    out = conv(xs, adj_t)
    out.square().sum().backward()
    xe = x.clone().requires_grad_()
    ref = conv(xe, edge_index)
    ref.square().sum().backward()
    assert rel_err(out, ref) <= 1e-6 and rel_err(xs.grad, xe.grad) <= 1e-5
    with pytest.raises(ValueError, match="edge_attr needs edge_index as a"):
        GENConv(D, D, edge_dim=F_EDGE)(x, adj_t, torch.randn(adj_t._nnz(), F_EDGE))


@pytest.mark.parametrize("lean", [True, False])
def test_int32_edge_index(lean):
    conv = GENConv(D, D, "max", edge_dim=F_EDGE, lean=lean)
    x, edge_index, edge_attr = data()
    assert torch.equal(conv(x, edge_index.int(), edge_attr), conv(x, edge_index, edge_attr))


def test_aggregator_names_in_any_spelling():
    x, edge_index, _ = data()
    torch.manual_seed(0)
    conv = GENConv(D, D, "SoftMax_SG")
    torch.manual_seed(0)
    ref = GENConv(D, D, "softmax_sg")
    assert conv.aggr == "softmax_sg" and "aggr=softmax_sg" in repr(conv)
    assert torch.equal(conv(x, edge_index), ref(x, edge_index))
    assert GENConv(D, D, ("Max", "power-mean")).aggr == ("max", "powermean")
    with pytest.raises(ValueError, match=r"aggr='softmx' is not one of .*did you mean 'softmax'"):
        GENConv(D, D, "softmx")
