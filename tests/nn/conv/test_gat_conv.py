import pytest
import torch
from torch_geometric.nn import GATConv

from revgnn.memory import saved_activation_bytes
from revgnn.nn.conv import gat_conv
from revgnn.nn.conv.gat_conv import LeanGATConv, attention_aggregate

N, E, F_IN = 40, 200, 12


def graph(seed=0, edge_dim=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, F_IN, generator=g)
    edge_index = torch.randint(0, N, (2, E), generator=g)
    edge_index[:, :5] = torch.arange(5).repeat(2, 1)  # some self-loops in the input
    edge_attr = None if edge_dim is None else torch.randn(E, edge_dim, generator=g)
    return x, edge_index, edge_attr


def pair(**kwargs):
    torch.manual_seed(0)
    ref = GATConv(F_IN, 6, **kwargs)
    lean = LeanGATConv(F_IN, 6, **kwargs)
    lean.load_state_dict(ref.state_dict())
    return ref, lean


def run(conv, x, edge_index, edge_attr):
    x = x.clone().requires_grad_()
    args = (x, edge_index) if edge_attr is None else (x, edge_index, edge_attr)
    out = conv(*args)
    (out * torch.linspace(-1, 1, out.size(-1))).sin().sum().backward()
    grads = {n: p.grad.clone() for n, p in conv.named_parameters()}
    return out.detach(), x.grad, grads


@pytest.mark.parametrize("heads", [1, 3])
@pytest.mark.parametrize("edge_dim", [None, 4])
@pytest.mark.parametrize("block_entries", [1 << 24, 50])
def test_outputs_and_gradients_equal_pyg(heads, edge_dim, block_entries, monkeypatch):
    monkeypatch.setattr(gat_conv, "BLOCK_ENTRIES", block_entries)  # 50: many edge blocks
    ref, lean = pair(heads=heads, edge_dim=edge_dim)
    x, edge_index, edge_attr = graph(edge_dim=edge_dim)
    for mode in (True, False):
        ref.train(mode), lean.train(mode)
        out_r, gx_r, gp_r = run(ref, x, edge_index, edge_attr)
        out_l, gx_l, gp_l = run(lean, x, edge_index, edge_attr)
        torch.testing.assert_close(out_l, out_r, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(gx_l, gx_r, rtol=1e-5, atol=1e-6)
        for name in gp_r:
            torch.testing.assert_close(gp_l[name], gp_r[name], rtol=1e-5, atol=1e-6, msg=name)
        ref.zero_grad(), lean.zero_grad()


def test_no_per_edge_feature_tensor_is_kept():
    heads, channels = 3, 6
    ref, lean = pair(heads=heads)
    x, edge_index, _ = graph()
    # Messages of the edges and the self-loops PyG puts in place of the given ones.
    big = (int((edge_index[0] != edge_index[1]).sum()) + N) * heads * channels

    def largest(conv):
        sizes = []

        def pack(t):
            sizes.append(t.numel())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = conv(x.requires_grad_(), edge_index)
        _, saved = saved_activation_bytes(lambda: conv(x, edge_index), exclude=[conv])
        del out
        return max(sizes), saved.total

    ref_largest, ref_total = largest(ref)
    lean_largest, lean_total = largest(lean)
    assert ref_largest >= big  # PyG keeps the gathered messages
    # At least the gathered messages (fp32) fewer bytes kept.
    assert lean_largest < big and ref_total - lean_total >= 4 * big


def test_attention_dropout_is_the_library_dropout_of_the_attention():
    _, lean = pair(heads=2, dropout=0.5)
    x, edge_index, _ = graph()
    lean.train()
    torch.manual_seed(3)
    out = lean(x, edge_index)
    torch.manual_seed(3)
    again = lean(x, edge_index)
    assert torch.equal(out, again)  # the mask depends on the seed only: replayable
    lean.dropout = 0.0
    assert not torch.allclose(out, lean(x, edge_index))


def test_uncovered_calls_are_pyg_s_forward():
    x, edge_index, _ = graph()
    for kwargs in ({"concat": False, "heads": 2}, {"residual": True}):
        ref, lean = pair(**kwargs)
        torch.testing.assert_close(lean(x, edge_index), ref(x, edge_index))
    ref, lean = pair(heads=2)
    out, (_, alpha) = lean(x, edge_index, return_attention_weights=True)
    ref_out, (_, ref_alpha) = ref(x, edge_index, return_attention_weights=True)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(alpha, ref_alpha)


def test_attention_aggregate_gradcheck_and_shape_error():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(7, 2, 3, dtype=torch.float64, generator=g, requires_grad=True)
    src, dst = torch.randint(0, 7, (2, 20), generator=g)
    alpha = torch.rand(20, 2, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: attention_aggregate(a, b, src, dst), (x, alpha))
    with pytest.raises(ValueError, match=r"alpha has shape \(20, 3\); it must be \(num_edges=20"):
        attention_aggregate(x, torch.rand(20, 3, dtype=torch.float64), src, dst)


def test_under_autocast_the_output_matches_pyg_in_dtype_and_value():
    ref, lean = pair(heads=3)
    x, edge_index, _ = graph()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out_r, out_l = ref(x, edge_index), lean(x, edge_index)
    assert out_l.dtype == out_r.dtype
    torch.testing.assert_close(out_l, out_r, rtol=2e-2, atol=2e-2)


def test_the_self_loops_of_a_graph_are_added_once_while_it_lives_unmodified(monkeypatch):
    # Without edge features the graph with its self-loops depends on the graph alone: every
    # layer and call shares one, until the graph is edited in place.
    calls = []
    real = gat_conv.add_self_loops

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gat_conv, "add_self_loops", counted)
    ref, lean = pair(heads=2)
    x, edge_index, _ = graph()
    for _ in range(3):
        lean.zero_grad()
        out, grad_x, grads = run(lean, x, edge_index, None)
    assert len(calls) == 1
    expected = run(ref, x, edge_index, None)
    assert torch.allclose(out, expected[0], atol=1e-6)
    assert torch.allclose(grad_x, expected[1], atol=1e-6)
    assert all(torch.allclose(grads[n], g, atol=1e-6) for n, g in expected[2].items())
    edge_index[1, 10:20] = (edge_index[1, 10:20] + 1) % N  # edited in place: added again
    out, _, _ = run(lean, x, edge_index, None)
    assert len(calls) == 2
    assert torch.allclose(out, run(ref, x, edge_index, None)[0], atol=1e-6)
    # With edge features the loops' features depend on them: added in every call.
    _, lean_e = pair(heads=2, edge_dim=4)
    x, edge_index, edge_attr = graph(edge_dim=4)
    for _ in range(2):
        run(lean_e, x, edge_index, edge_attr)
    assert len(calls) == 4
