"""Every operator inside reversible blocks gives the gradients of its non-reversible run,
with all its randomness (dropout, edge dropout, GAT attention dropout) replayed."""

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch_geometric.nn import GATConv, GCNConv, GINConv, GINEConv, SAGEConv

from revgnn import GENConv, GroupAddRev, LeanGATConv, PreActConv, ReversibleSequential
from revgnn.nn.conv import CONVS, NodeMLP
from tests.helpers import random_graph, rel_err, rev_gnn

N, E, D, C = 24, 120, 12, 2  # nodes, edges, channels, groups
G = D // C  # group width


def mlp(c: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c, c), nn.BatchNorm1d(c), nn.ReLU(), nn.Linear(c, c))


OPERATORS = {
    "gen_softmax": lambda: GENConv(G, G, "softmax", learn_t=True, edge_dim=D),
    "gen_softmax_chunked": lambda: GENConv(G, G, "softmax", edge_dim=D, chunk_size=50),
    "gen_power_plain": lambda: GENConv(G, G, "power", learn_p=True, edge_dim=D, lean=False),
    "gen_power": lambda: GENConv(G, G, "power", learn_p=True, edge_dim=D),
    "gen_max": lambda: GENConv(G, G, "max", edge_dim=D, msg_norm=True, learn_msg_scale=True),
    "gat": lambda: GATConv(G, G // 2, heads=2, dropout=0.5, edge_dim=D),
    "lean_gat": lambda: LeanGATConv(G, G // 2, heads=2, dropout=0.5, edge_dim=D),
    "sage": lambda: SAGEConv(G, G),
    "gcn": lambda: GCNConv(G, G),
    "gin": lambda: GINConv(mlp(G)),
    "gine": lambda: GINEConv(mlp(G), edge_dim=D),
    "mlp": lambda: NodeMLP(G),
}
USES_EDGE_ATTR = {"gen_softmax", "gen_softmax_chunked", "gen_power_plain", "gen_power"}
USES_EDGE_ATTR |= {"gen_max", "gat", "lean_gat", "gine"}


def stack(make, num_layers=4, dropout=0.3, edge_dropout=0.3) -> ReversibleSequential:
    torch.manual_seed(0)
    return ReversibleSequential(
        [
            GroupAddRev(
                PreActConv(make(), G, norm="batch", dropout=dropout, edge_dropout=edge_dropout),
                num_groups=C,
            )
            for _ in range(num_layers)
        ]
    )


def data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, D, generator=g), random_graph(N, E, seed), torch.randn(E, D, generator=g)


def step(model, x, edge_index, edge_attr, seed=7):
    x = x.clone().requires_grad_()
    kwargs = {}
    if edge_attr is not None:
        kwargs["edge_attr"] = edge_attr.clone().requires_grad_()
    torch.manual_seed(seed)
    out = model(x, edge_index, **kwargs)
    (out * torch.linspace(-1, 1, out.size(-1))).sin().sum().backward()
    result = {"out": out.detach(), "x": x.grad, "rng_after": torch.rand(3)}
    if edge_attr is not None:
        result["edge_attr"] = kwargs["edge_attr"].grad
    result.update({f"p.{n}": p.grad for n, p in model.named_parameters()})
    result.update({f"b.{n}": b.clone() for n, b in model.named_buffers()})
    return result


def errors(model, x, edge_index, edge_attr):
    plain, rev = copy.deepcopy(model), copy.deepcopy(model)
    plain.reversible, rev.reversible = False, True
    ref, got = step(plain, x, edge_index, edge_attr), step(rev, x, edge_index, edge_attr)
    assert ref.keys() == got.keys()
    out = {}
    for key in ref:
        if ref[key] is None:
            assert got[key] is None, key
            continue
        scale = ref[key].abs().max()
        out[key] = rel_err(got[key], ref[key]) if scale > 0 else got[key].abs().max().item()
    return out


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_reversible_run_equals_plain_run(name):
    x, edge_index, edge_attr = data()
    model = stack(OPERATORS[name])
    errs = errors(model, x, edge_index, edge_attr if name in USES_EDGE_ATTR else None)
    bad = {k: v for k, v in errs.items() if not v <= 1e-6}
    assert not bad, bad


@pytest.mark.parametrize("name", ["gen_softmax", "gat", "gcn"])
def test_the_randomness_is_real(name):
    # Different seeds give different outputs: dropout, edge dropout (and GAT's attention
    # dropout) are active, so the agreement above covers their replay.
    x, edge_index, edge_attr = data()
    edge_attr = edge_attr if name in USES_EDGE_ATTR else None
    model = stack(OPERATORS[name], dropout=0.0)  # edge dropout (+ attention dropout) only
    a, b = (step(copy.deepcopy(model), x, edge_index, edge_attr, seed=s) for s in (1, 2))
    assert rel_err(a["out"], b["out"]) > 1e-3


class NumpyEdgeDrop(nn.Module):
    """Drops edges with numpy's generator, which reversible blocks cannot replay."""

    def __init__(self, conv: nn.Module) -> None:
        super().__init__()
        self.conv = conv
        self.rng = np.random.default_rng(0)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, x, edge_index, **kwargs):
        keep = torch.from_numpy(self.rng.random(edge_index.size(1)) >= 0.3)
        return self.conv(x, edge_index[:, keep])


def test_the_comparison_detects_randomness_that_is_not_replayed():
    # Control for the tests above: randomness outside torch's generator is not replayed, and
    # the comparison sees the wrong gradients.
    x, edge_index, _ = data()
    model = stack(lambda: NumpyEdgeDrop(GCNConv(G, G)), dropout=0.0, edge_dropout=0.0)
    errs = errors(model, x, edge_index, None)
    assert errs["x"] > 1e-2


@pytest.mark.parametrize("conv", CONVS)
def test_revgnn_with_every_operator(conv):
    edge_dim = 5 if conv in ("gen", "gat", "gin") else None
    options = {
        "gen": {"aggr": "softmax", "learn_t": True},
        "gat": {"heads": 2, "attn_dropout": 0.4},
    }
    torch.manual_seed(0)
    model = rev_gnn(
        7,
        D,
        3,
        4,
        edge_dim=edge_dim,
        conv=conv,
        conv_options=options.get(conv),
        edge_dropout=0.2,
        shared_dropout=False,
        dropout=0.2,
    )
    g = torch.Generator().manual_seed(0)
    x, edge_index = torch.randn(N, 7, generator=g), random_graph(N, E)
    edge_attr = torch.randn(E, 5, generator=g) if edge_dim else None
    plain = copy.deepcopy(model)
    plain.reversible = False
    results = []
    for m in (model, plain):
        torch.manual_seed(3)
        out = m(x, edge_index, edge_attr)
        out.square().mean().backward()
        results.append([out] + [p.grad for p in m.parameters()])
    for got, ref in zip(*results):
        assert got is not None and ref is not None
        assert rel_err(got, ref) <= 1e-6 or (ref.abs().max() == 0 and got.abs().max() == 0)
    assert f"conv={model.layers.blocks[0].convs[0].conv}" in repr(model)


def test_revgnn_default_parameter_counts_are_unchanged():
    # RevGNN-112 x 80 of the paper's Table 1 (2.25M), with revgnn's GENConv inside.
    model = rev_gnn(8, 80, 112, 112, edge_dim=8)
    assert sum(p.numel() for p in model.parameters()) == 2_250_672
    assert isinstance(model.layers.blocks[0].convs[0].conv, GENConv)
    assert model.layers.blocks[0].convs[0].conv.lean


def test_revgnn_operator_errors():
    with pytest.raises(ValueError, match="conv='cheb' is not one of"):
        rev_gnn(4, 8, 2, 2, conv="cheb")
    with pytest.raises(ValueError, match="conv='sage' takes no edge features"):
        rev_gnn(4, 8, 2, 2, conv="sage", edge_dim=3)
    with pytest.raises(ValueError, match="heads=3 must divide the conv's out_channels=4"):
        rev_gnn(4, 8, 2, 2, conv="gat", conv_options={"heads": 3})
    with pytest.raises(ValueError, match=r"aggr is not an option of conv='gat'"):
        rev_gnn(4, 8, 2, 2, conv="gat", conv_options={"aggr": "max"})


@pytest.mark.parametrize("name", ["gcn", "gcnii"])
def test_gcn_convs_equal_pyg_over_a_csr_adjacency_and_an_edge_index(name):
    # Our GCNConv / GCN2Conv propagate over a CSR adj_t with the cached transpose: the same
    # values and gradients as PyG's own classes, bit for bit; an edge index goes through PyG.
    from torch_geometric.nn import GCN2Conv

    from revgnn.nn.conv import pyg_convs

    torch.manual_seed(0)
    if name == "gcn":
        ours, theirs = pyg_convs.GCNConv(G, G, normalize=False), GCNConv(G, G, normalize=False)
    else:
        ours = pyg_convs.GCN2Conv(G, 0.1, 0.5, 3, normalize=False)
        theirs = GCN2Conv(G, 0.1, 0.5, 3, normalize=False)
    theirs.load_state_dict(ours.state_dict())
    assert type(theirs).__module__.startswith("torch_geometric")
    assert repr(ours) == repr(theirs)
    edge_index = random_graph(N, E)
    adj_t, _ = pyg_convs.gcn_prepare(edge_index, N, torch.float32)
    x, x0 = torch.randn(N, G, requires_grad=True), torch.randn(N, G)
    for graph in (adj_t, edge_index):
        outs, grads = [], []
        for conv in (ours, theirs):
            out = conv(x, graph) if name == "gcn" else conv(x, x0, graph)
            outs.append(out)
            grads.append(torch.autograd.grad(out.square().sum(), [x, *conv.parameters()]))
        assert torch.equal(outs[0], outs[1])
        assert all(torch.equal(a, b) for a, b in zip(*grads))


@pytest.mark.parametrize("name", ["gcn", "gcnii"])
def test_gcn_convs_skip_propagate_over_a_prepared_csr_adjacency_unless_hooked(name, monkeypatch):
    # Over a prepared CSR adj_t the product is called directly (PyG's input collection cost
    # ~17 µs a call); a registered hook, or an edge index, still goes through propagate.
    from revgnn.nn.conv import pyg_convs

    torch.manual_seed(0)
    conv = (
        pyg_convs.GCNConv(G, G, normalize=False)
        if name == "gcn"
        else pyg_convs.GCN2Conv(G, 0.1, 0.5, 3, normalize=False)
    )
    edge_index = random_graph(N, E)
    adj_t, _ = pyg_convs.gcn_prepare(edge_index, N, torch.float32)
    x, x0 = torch.randn(N, G), torch.randn(N, G)

    def run(graph):
        return conv(x, graph) if name == "gcn" else conv(x, x0, graph)

    expected = run(adj_t)
    calls = []
    original = conv.propagate
    monkeypatch.setattr(conv, "propagate", lambda *a, **k: calls.append(1) or original(*a, **k))
    assert torch.equal(run(adj_t), expected) and calls == []
    run(edge_index)
    assert calls == [1]
    seen = []
    conv.register_propagate_forward_hook(lambda module, inputs, out: seen.append(out.shape))
    assert torch.equal(run(adj_t), expected)
    assert calls == [1, 1] and seen == [(N, G)]


def test_gcn2conv_explicit_pass_equals_its_autograd_pass():
    # The pass reversible stacks call instead of recording GCNII's layer for autograd.
    from revgnn.nn.conv import pyg_convs

    torch.manual_seed(0)
    conv = pyg_convs.GCN2Conv(G, 0.1, 0.5, 3, normalize=False)
    adj_t, _ = pyg_convs.gcn_prepare(random_graph(N, E), N, torch.float32)
    x, x0 = torch.randn(N, G, requires_grad=True), torch.randn(N, G, requires_grad=True)
    assert conv.explicit_supported(x, x0, adj_t)
    out = conv(x, x0, adj_t)
    grad = torch.randn(N, G)
    ref = torch.autograd.grad(out, [x, conv.weight1, x0], grad, retain_graph=True)
    z, u = conv.explicit_forward(x.detach(), x0.detach(), adj_t)
    assert torch.equal(z, out) and not z.requires_grad
    got = conv.explicit_backward(u, grad, adj_t, want_x_0=True)
    assert all(rel_err(a, b) < 1e-6 for a, b in zip(got, ref, strict=True))
    assert conv.explicit_backward(u, grad, adj_t, want_x_0=False)[2] is None
    # ``scale``: the gradients of scale * out (a block's branch scale, applied in the kernels).
    ref = torch.autograd.grad(out * 0.3, [x, conv.weight1, x0], grad)
    got = conv.explicit_backward(u, grad, adj_t, want_x_0=True, scale=0.3)
    assert all(rel_err(a, b) < 1e-6 for a, b in zip(got, ref, strict=True))
    # Separate weights for x0, more initial rows than nodes, or an edge index: autograd's.
    assert not pyg_convs.GCN2Conv(G, 0.1, 0.5, 3, shared_weights=False, normalize=False) \
        .explicit_supported(x, x0, adj_t)  # fmt: skip
    assert not conv.explicit_supported(x, torch.randn(N + 1, G), adj_t)
    assert not conv.explicit_supported(x, x0, random_graph(N, E))


def test_gcn_prepare_normalises_an_edge_index_once_while_it_lives_unmodified():
    from torch_geometric.nn.conv.gcn_conv import gcn_norm

    from revgnn.nn.conv import pyg_convs
    from revgnn.nn.spmm import transposed

    def dense(adj):
        return adj.to_dense()

    def reference(ei):  # PyG's normalisation of the same graph, as a dense [target, source]
        ei, w = gcn_norm(ei, None, N, add_self_loops=True)
        return torch.sparse_coo_tensor(ei.flip(0), w, (N, N)).to_dense()

    edge_index = random_graph(N, E)
    adj, extra = pyg_convs.gcn_prepare(edge_index, N, torch.float32)
    assert extra == {} and torch.allclose(dense(adj), reference(edge_index))
    # The same graph in the next step: the same adjacency, so its transpose is reused too.
    again, _ = pyg_convs.gcn_prepare(edge_index, N, torch.float32)
    assert again is adj and transposed(again) is transposed(adj)
    assert pyg_convs.gcn_prepare(edge_index, N, torch.float64)[0].dtype == torch.float64
    # A graph edited in place is normalised afresh, never served from the cache.
    edge_index[0, :10] = (edge_index[0, :10] + 1) % N
    edited, _ = pyg_convs.gcn_prepare(edge_index, N, torch.float32)
    assert edited is not adj and torch.allclose(dense(edited), reference(edge_index))
    assert not torch.allclose(dense(edited), dense(adj))
    # Another tensor of the same edges: its own entry, the same matrix.
    copy_, _ = pyg_convs.gcn_prepare(edge_index.clone(), N, torch.float32)
    assert copy_ is not edited and torch.equal(dense(copy_), dense(edited))
    # A torch sparse adjacency is kept the same way, unless its weights are learned.
    weights = torch.rand(E)
    coo = torch.sparse_coo_tensor(edge_index.flip(0), weights, (N, N)).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sparse = coo.to_sparse_csr()
    from_sparse, _ = pyg_convs.gcn_prepare(sparse, N, torch.float32)
    assert pyg_convs.gcn_prepare(sparse, N, torch.float32)[0] is from_sparse
    learned = sparse.detach().clone().requires_grad_()
    first, _ = pyg_convs.gcn_prepare(learned, N, torch.float32)
    assert pyg_convs.gcn_prepare(learned, N, torch.float32)[0] is not first
    assert torch.equal(dense(first.detach()), dense(from_sparse))
    (grad,) = torch.autograd.grad(first.values().sum(), learned)
    assert grad is not None
    # PyG marks a COO adjacency coalesced in place as it reads it: nothing is kept for it.
    assert torch.equal(dense(pyg_convs.gcn_prepare(coo, N, torch.float32)[0]), dense(from_sparse))
