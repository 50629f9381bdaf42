import copy
import math

import pytest
import torch

from revgnn.config import ModelConfig, build_model
from revgnn.config.adapt import adapt_model
from revgnn.memory import saved_activation_bytes
from revgnn.nn import PreActConv
from tests.helpers import deeper_gcn, random_graph, rel_err, rev_gnn

N, E, F_IN, F_EDGE, OUT = 40, 160, 12, 5, 3


def _data(edge_dim):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, F_IN, generator=g)
    edge_attr = torch.randn(E, edge_dim, generator=g) if edge_dim else None
    return x, random_graph(N, E), edge_attr


def _step_with_plain_copy(rev, x, edge_index, edge_attr):
    """A step of ``rev`` and of its non-reversible copy from the same seed: (copy, outputs)."""
    plain = copy.deepcopy(rev)
    plain.reversible = False
    outs = []
    for model in (rev, plain):
        torch.manual_seed(7)
        out = model(x, edge_index, edge_attr)
        out.square().mean().backward()
        outs.append(out)
    return plain, outs


@pytest.mark.parametrize("edge_dim", [None, F_EDGE])
@pytest.mark.parametrize("shared_dropout", [True, False])
@pytest.mark.parametrize("weight_tied", [False, True])
def test_reversible_and_plain_runs_of_the_same_weights_agree(edge_dim, shared_dropout, weight_tied):
    torch.manual_seed(0)
    rev = rev_gnn(
        F_IN,
        16,
        OUT,
        num_layers=6,
        num_groups=2,
        edge_dim=edge_dim,
        conv_options={"aggr": "softmax", "learn_t": True},
        dropout=0.3,
        shared_dropout=shared_dropout,
        weight_tied=weight_tied,
    )
    x, edge_index, edge_attr = _data(edge_dim)
    plain, outs = _step_with_plain_copy(rev, x, edge_index, edge_attr)
    assert rel_err(outs[0], outs[1]) < 1e-6
    for (name, p), q in zip(rev.named_parameters(), plain.parameters()):
        assert p.grad is not None, name
        assert rel_err(p.grad, q.grad) < 1e-5, name
    for (name, b), c in zip(rev.named_buffers(), plain.buffers()):
        assert torch.equal(b, c), name


def test_saved_activations_do_not_grow_with_depth():
    x, edge_index, edge_attr = _data(F_EDGE)

    def saved(layers, reversible=True):
        torch.manual_seed(0)
        model = rev_gnn(F_IN, 16, OUT, layers, edge_dim=F_EDGE, reversible=reversible)
        _, s = saved_activation_bytes(lambda: model(x, edge_index, edge_attr), exclude=[model])
        return s.total

    assert saved(64) <= 1.05 * saved(4)
    assert saved(64, reversible=False) > 10 * saved(4, reversible=False)


def test_the_default_damped_stack_keeps_no_stream_copy():
    # The default model from 32 layers on is damped (damping="auto"); its stream's grid holds
    # the stack's growth, so the exact rebuild saves what the additive stack saves, at any
    # depth (at 32 layers, d = 0.5, the planner allows one copy; these activations need none).
    x, edge_index, _ = _data(None)

    def saved(layers, damping="auto"):
        torch.manual_seed(0)
        cfg = ModelConfig(num_layers=layers, hidden_channels=16, dropout=0.0, input_dropout=0.0,
                          damping=damping)  # fmt: skip
        model = build_model(cfg, F_IN, OUT)
        _, s = saved_activation_bytes(lambda: model(x, edge_index), exclude=[model])
        return adapt_model(cfg).damping, s.total

    snapshot = N * 16 * 8  # one float64 copy of the stream
    additive = saved(32, damping=0.0)[1]
    damping, total = saved(32)
    assert damping == 0.5 and total in (additive, additive + snapshot)
    assert saved(64) == (0.25, additive)
    assert saved(256) == (0.0625, additive)
    assert saved(64, damping=0.75)[1] >= additive + snapshot  # 2^128 of growth: regrids


def test_weight_tied_parameter_count_is_independent_of_depth():
    counts = {
        layers: sum(p.numel() for p in rev_gnn(8, 80, 112, layers, weight_tied=True).parameters())
        for layers in (3, 112)
    }
    assert counts[3] == counts[112]


def test_paper_parameter_counts():
    def count(**kw):
        return sum(p.numel() for p in rev_gnn(8, out_channels=112, edge_dim=8, **kw).parameters())

    # RevGNN paper, Table 1 (ogbn-proteins): RevGNN-Deep 20.03M, RevGNN-Wide 68.47M.
    assert round(count(hidden_channels=80, num_layers=1001) / 1e6, 2) == 20.03
    assert round(count(hidden_channels=224, num_layers=448) / 1e6, 2) == 68.47


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_layers": 0}, "num_layers=0 must be at least 1"),
        ({"num_groups": 1}, "num_groups=1 must be at least 2"),
        ({"num_groups": 3}, "num_groups=3 must divide hidden_channels=16"),
        ({"dropout": 1.0}, r"dropout=1.0 must lie in \[0, 1\)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    args = {"num_layers": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        rev_gnn(F_IN, 16, OUT, **args)


def test_edge_attr_must_match_edge_dim():
    x, edge_index, edge_attr = _data(F_EDGE)
    with pytest.raises(ValueError, match="edge_attr must be given exactly when"):
        rev_gnn(F_IN, 16, OUT, 2)(x, edge_index, edge_attr)
    with pytest.raises(ValueError, match="edge_attr must be given exactly when"):
        rev_gnn(F_IN, 16, OUT, 2, edge_dim=F_EDGE)(x, edge_index)


def test_reset_parameters_and_repr():
    model = rev_gnn(F_IN, 16, OUT, 3, edge_dim=F_EDGE)
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed >= len(before) // 2
    assert repr(model).startswith("RevGNN(12, 16, 3, num_layers=3, num_groups=2")


def test_gcn_blocks_share_one_normalisation_equal_to_per_block_normalisation():
    from torch_geometric.nn import GCNConv

    torch.manual_seed(0)
    shared = rev_gnn(F_IN, 16, OUT, 4, conv="gcn", dropout=0.0)
    per_block = copy.deepcopy(shared)
    per_block.encoder.prepare = None
    convs = [m for m in per_block.modules() if isinstance(m, GCNConv)]
    assert len(convs) == 8 and not any(m.normalize for m in convs)
    for m in convs:
        m.normalize = m.add_self_loops = True
    x, edge_index, _ = _data(None)
    outs = []
    for model in (shared, per_block):
        out = model(x, edge_index)
        out.square().mean().backward()
        outs.append(out)
    assert rel_err(outs[0], outs[1]) < 1e-6
    for (name, p), q in zip(shared.named_parameters(), per_block.parameters()):
        if q.grad.norm() > 1e-6:  # the encoder's bias, right before a norm, gets ~0
            assert rel_err(p.grad, q.grad) < 1e-5, name
    # With edge dropout each block sees its own graph and must normalise it itself.
    dropping = rev_gnn(F_IN, 16, OUT, 2, conv="gcn", edge_dropout=0.2)
    convs = [m for m in dropping.modules() if isinstance(m, GCNConv)]
    assert all(m.normalize and m.add_self_loops for m in convs)


def test_repr_names_the_aggregation_only_for_genconv():
    assert "aggr=max" in repr(rev_gnn(F_IN, 16, OUT, 2))
    assert "aggr" not in repr(rev_gnn(F_IN, 16, OUT, 2, conv="gcn"))


def test_sparse_adjacency_gives_the_edge_index_result():
    # rev_gnn(conv="gen") with PyG's adj_t: GENConv's lean path reads its edge list.
    from torch_geometric.utils import to_torch_csr_tensor

    torch.manual_seed(0)
    model = rev_gnn(F_IN, 16, OUT, 3, dropout=0.0).eval()
    x, edge_index, _ = _data(None)
    edge_index = torch.unique(edge_index, dim=1)
    adj_t = to_torch_csr_tensor(edge_index.flip(0), size=(N, N))
    assert rel_err(model(x, adj_t), model(x, edge_index)) <= 1e-6
    with pytest.raises(ValueError, match=r"sparse adjacency of shape \(5, 5\)"):
        model(x, to_torch_csr_tensor(torch.tensor([[0], [1]]), size=(5, 5)))


@pytest.mark.parametrize("conv", ["gen", "gat", "sage", "gcn", "gin", "mlp"])
def test_bad_edge_index_is_one_error_and_int32_works(conv):
    model = rev_gnn(F_IN, 16, OUT, 2, conv=conv, dropout=0.0).eval()
    x, edge_index, _ = _data(None)
    assert torch.equal(model(x, edge_index.int()), model(x, edge_index))
    bad = edge_index.clone()
    bad[1, 7] = N + 3
    with pytest.raises(ValueError, match=f"edge_index refers to node {N + 3} but there are {N}"):
        model(x, bad)
    with pytest.raises(ValueError, match=r"edge_index must have shape \[2, E\]"):
        model(x, edge_index.t())
    with pytest.raises(ValueError, match=r"x must have shape \[num_nodes, 12\] \(in_channels\)"):
        model(x[:, :5], edge_index)


def _assert_plain_gradients(rev, x, edge_index):
    """Every parameter's gradient of ``rev`` equals that of the same weights run
    non-reversibly (same dropout draws), within 1e-5 relative."""
    plain = copy.deepcopy(rev)
    plain.reversible = False
    grads = []
    for model in (rev, plain):
        torch.manual_seed(7)
        model(x, edge_index).square().mean().backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name, g in grads[0].items():
        assert g is not None and rel_err(g, grads[1][name]) < 1e-5, name


@pytest.mark.parametrize("conv", ["gcn", "gcnii", "gen"])
def test_branch_scale_gate_and_initial_residual_keep_the_engine_exact(conv):
    torch.manual_seed(0)
    rev = rev_gnn(F_IN, 16, OUT, 6, conv=conv, branch_scale=0.5, branch_gate=0.0, dropout=0.3)
    x, edge_index, _ = _data(None)
    # At initialisation every block is the identity: the model is its encoder and head.
    rev.eval()
    h, ei, kwargs = rev.encoder(x, edge_index)
    initial = h if rev.initial else None
    assert torch.equal(rev.layers(h, ei, None, initial, **kwargs), h)
    rev.train()
    with torch.no_grad():  # move away from the identity
        for m in rev.modules():
            if isinstance(m, PreActConv):
                m.gate.fill_(0.5)
    _assert_plain_gradients(rev, x, edge_index)
    # The stack still inverts exactly (float64 stream).
    rev.eval()
    h, ei, kwargs = rev.encoder(x, edge_index)
    initial = h if rev.initial else None
    y = rev.layers(h, ei, None, initial, **kwargs)
    assert rel_err(rev.layers.inverse(y, ei, None, initial, **kwargs), h) < 1e-5


def test_gcnii_reads_the_initial_embedding():
    torch.manual_seed(0)
    model = rev_gnn(F_IN, 16, OUT, 3, conv="gcnii", dropout=0.0).eval()
    x, edge_index, _ = _data(None)
    h, ei, kwargs = model.encoder(x, edge_index)
    with_h0 = model.layers(h, ei, None, h, **kwargs)
    assert not torch.allclose(with_h0, model.layers(h, ei, None, torch.zeros_like(h), **kwargs))
    betas = [b.convs[0].conv.conv.beta for b in model.layers.blocks]
    assert betas == sorted(betas, reverse=True)  # beta_l = log(theta / l + 1) shrinks with depth
    with pytest.raises(ValueError, match="reads the initial embedding in every block"):
        deeper_gcn(F_IN, 16, OUT, 3, conv="gcnii")


@pytest.mark.parametrize("layers", [1, 4, 64])
def test_a_weight_tied_gcnii_block_takes_the_identity_mapping_of_the_last_depth(layers):
    # One block applied at every depth: with GCNII's beta_1 = 0.41 a 64-layer stack trained to
    # 0.40 on Cora; the last depth's beta_L keeps its L applications' mixing about theta.
    model = rev_gnn(F_IN, 16, OUT, layers, conv="gcnii", weight_tied=True)
    (block,) = model.layers.blocks
    conv = block.convs[0].conv.conv
    assert conv.beta == pytest.approx(math.log(0.5 / layers + 1))
    assert all(c.conv.conv.beta == conv.beta for c in block.convs)
    assert layers * conv.beta == pytest.approx(0.5, rel=0.25)


@pytest.mark.parametrize("stream_init", ["input", "zero"])
def test_initial_embedding_is_the_rectified_encoding(stream_init):
    # GCNII's H0 = ReLU(fc(x)): every block reads it, and an input stream starts at it.
    torch.manual_seed(0)
    rev = rev_gnn(F_IN, 16, OUT, 2, conv="gcnii", stream_init=stream_init).eval()
    x, edge_index, _ = _data(None)
    seen = []
    hook = rev.layers.register_forward_pre_hook(lambda m, args: seen.append(args))
    rev(x, edge_index)
    hook.remove()
    start, _, _, h0 = seen[0][:4]
    encoded = rev.encoder(x, edge_index)[0]
    assert (encoded < 0).any()
    assert torch.equal(h0, encoded.relu())
    assert torch.equal(start, encoded.relu() if stream_init == "input" else torch.zeros_like(h0))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cuda_autocast_reversible_gradients_equal_the_plain_run(dtype):
    # GENConv's lean aggregation and the reversible engine under CUDA autocast: the rebuilt
    # activations give the plain run's gradients (autocast rounds both runs the same way).
    # fp16 needs a loss scale, as in training (GradScaler): unscaled, the encoder's gradients
    # (about 1e-5) are fp16 subnormals, rounding noise that CUDA's unordered atomic sums
    # change from run to run (an H200 measured 1.6 relative error between two such runs).
    scale = 2.0**10 if dtype is torch.float16 else 1.0
    torch.manual_seed(0)
    rev = rev_gnn(
        F_IN, 32, OUT, num_layers=8, num_groups=2, edge_dim=F_EDGE, dropout=0.2,
        conv_options={"aggr": "softmax", "learn_t": True},
    ).cuda()  # fmt: skip
    plain = copy.deepcopy(rev)
    plain.reversible = False
    x, edge_index, edge_attr = (t.cuda() for t in _data(F_EDGE))
    outs = []
    for model in (rev, plain):
        torch.manual_seed(7)
        with torch.autocast("cuda", dtype=dtype):
            out = model(x, edge_index, edge_attr)
        (out.float().square().mean() * scale).backward()
        outs.append(out.float())
    assert rel_err(outs[0], outs[1]) < 1e-3
    for (name, p), q in zip(rev.named_parameters(), plain.parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert rel_err(p.grad, q.grad) < 1e-2, name


@pytest.mark.parametrize("weight_tied", [False, True])
def test_zero_stream_starts_at_zero_and_stays_exact(weight_tied):
    torch.manual_seed(0)
    rev = rev_gnn(
        F_IN, 16, OUT, 6, conv="gcnii", stream_init="zero", branch_scale=0.5, dropout=0.3,
        weight_tied=weight_tied,
    )  # fmt: skip
    assert rev.zero_stream and "zero_stream=True" in repr(rev)
    x, edge_index, _ = _data(None)
    # The stream the blocks receive is zero; the input reaches them as the initial residual.
    seen = []
    hook = rev.layers.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    rev(x, edge_index)
    hook.remove()
    assert seen and not seen[0].any()
    _assert_plain_gradients(rev, x, edge_index)
    rev.eval()
    h, ei, kwargs = rev.encoder(x, edge_index)
    y = rev.layers(torch.zeros_like(h), ei, None, h, **kwargs)
    assert y.abs().max() > 0  # the blocks wrote the input into the stream
    # Exact up to the float32 rounding of the returned y (the stream itself is float64).
    assert rev.layers.inverse(y, ei, None, h, **kwargs).abs().max() < 1e-6 * y.abs().max()


def test_zero_stream_needs_an_initial_residual_conv():
    with pytest.raises(ValueError, match="stream_init='zero' needs an initial-residual conv"):
        rev_gnn(F_IN, 16, OUT, 2, conv="gcn", stream_init="zero")


def test_damped_gcnii_stack_equals_its_plain_run():
    torch.manual_seed(0)
    rev = rev_gnn(F_IN, 16, OUT, num_layers=12, num_groups=2, conv="gcnii", stream_init="zero",
                  branch_scale=0.25, damping=0.25, dropout=0.3)  # fmt: skip
    assert rev.layers.damping == 0.25 and "damping=0.25" in repr(rev.layers)
    x, edge_index, _ = _data(None)
    plain, outs = _step_with_plain_copy(rev, x, edge_index, None)
    assert torch.equal(outs[0], outs[1])  # the scaled stream: the plain run's very values
    for (name, p), q in zip(rev.named_parameters(), plain.parameters()):
        assert rel_err(p.grad, q.grad) < 1e-5, name


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize(
    "options",
    [{}, {"conv": "gen"}, {"conv": "gat"}, {"conv": "sage"}, {"model": "wt-revgnn"}],
    ids=lambda o: "-".join(o.values()) or "default",
)
def test_a_model_cast_to_half_precision_trains_and_its_reversible_run_is_the_plain_one(
    options, dtype
):
    # model.bfloat16() without autocast: the blocks took fp32 input ("mat1 and mat2 must have
    # the same dtype"), and GCN's product had no half-precision CPU kernel.
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_layers=3, **options), 8, 3).to(dtype).train()
    x, edge_index = torch.randn(40, 8).to(dtype), random_graph(40, 160)

    def run(reversible):
        model.reversible = reversible
        torch.manual_seed(5)
        out = model(x, edge_index)
        return out, torch.autograd.grad(out.float().sin().sum(), list(model.parameters()))

    out, grads = run(True)
    ref_out, ref_grads = run(False)
    assert out.dtype == dtype and torch.equal(out, ref_out)
    # GCNII's explicit backward pass rounds in another order than autograd: one rounding.
    eps = torch.finfo(dtype).eps
    for g, r in zip(grads, ref_grads, strict=True):
        assert g.dtype == dtype and torch.isfinite(g).all()
        assert rel_err(g.float(), r.float()) <= eps


@pytest.mark.parametrize(
    "options",
    [{}, {"conv": "gen"}, {"conv": "gat"}, {"conv": "sage"}, {"model": "wt-revgnn"}],
    ids=lambda o: "-".join(o.values()) or "default",
)
def test_a_graph_without_nodes_gives_an_empty_output(options):
    # An empty batch: the stream's group split inferred its width from no elements
    # ("cannot reshape tensor of 0 elements into shape [0, 2, -1]"), GAT's edge blocks read
    # the first node.
    model = build_model(ModelConfig(num_layers=3, **options), 8, 3).train()
    x, edge_index = torch.randn(0, 8), torch.zeros(2, 0, dtype=torch.long)
    out = model(x, edge_index)
    out.sum().backward()
    assert out.shape == (0, 3)
    assert model.eval()(x, edge_index).shape == (0, 3)
