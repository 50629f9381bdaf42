import warnings

import pytest
import torch
from torch_geometric.nn import SAGEConv

from revgnn.memory import saved_activation_bytes
from revgnn.nn import GroupAddRev, PreActConv, ReversibleSequential
from revgnn.nn.reversible_function import ReversibleBackward, inverse_stack, reconstruction_error
from tests.helpers import random_graph, rel_err
from tests.nn.test_rev_stack import Lin


def blocks(n=3, d=8):
    torch.manual_seed(0)
    return [GroupAddRev(Lin(d // 2), num_groups=2) for _ in range(n)]


def test_one_autograd_node_and_an_exact_inverse():
    stack = ReversibleSequential(blocks()).eval()
    x = torch.randn(10, 8, requires_grad=True)
    edge_index = random_graph(10, 30)
    y = stack(x, edge_index)
    assert isinstance(y.grad_fn, ReversibleBackward)
    rebuilt = inverse_stack(stack.layers, y.detach(), edge_index, [], {}, torch.float64)
    assert torch.allclose(rebuilt, x, atol=1e-6)
    error = reconstruction_error(stack.layers, x.detach(), edge_index, [], {}, torch.float64)
    assert error < 1e-12


def test_a_users_stack_checks_its_graph_and_features():
    stack = ReversibleSequential(blocks())
    x = torch.randn(10, 8)
    with pytest.raises(ValueError, match=r"edge_index must have shape \[2, E\], got \[30, 2\]"):
        stack(x, random_graph(10, 30).t())
    with pytest.raises(ValueError, match="edge_index refers to node 12 but there are 10 nodes"):
        stack(x, torch.tensor([[0, 12], [1, 2]]))
    with pytest.raises(TypeError, match=r"must hold integer node indices, got torch.float32"):
        stack(x, random_graph(10, 30).float())
    bad = x.clone()
    bad[3, 1] = float("nan")
    with pytest.raises(ValueError, match="x has 1 NaN or inf entries"):
        stack(bad, random_graph(10, 30))


# -- blocks called one after another, as PyG's examples stack GroupAddRev: one stream between


def sage_blocks(n, d=8, dropout=0.0):
    torch.manual_seed(0)
    return [
        GroupAddRev(
            PreActConv(SAGEConv(d // 2, d // 2), d // 2, "layer", dropout=dropout), num_groups=2
        )
        for _ in range(n)
    ]


def run_loop(layers, x, edge_index, reversible=True):
    for block in layers:
        block.reversible = reversible
    h = x * 1.0  # not a leaf: a loop's input is usually the encoder's output
    for block in layers:
        h = block(h, edge_index)
    return h


def grads(layers, x):
    return [x.grad, *[p.grad for block in layers for p in block.parameters()]]


def assert_plain_runs_gradients(layers, run):
    """``run(reversible)`` returns gradients; the reversible run's are the plain run's."""
    out = {}
    for reversible in (True, False):
        for block in layers:
            block.reversible = reversible
        out[reversible] = run(reversible)
        for block in layers:
            block.zero_grad()
    for g, r in zip(out[True], out[False]):
        assert rel_err(g, r) < 1e-5


def test_chained_blocks_keep_one_stream_whatever_their_number():
    edge_index = random_graph(30, 120)
    saved = {}
    for n in (2, 16):
        layers = sage_blocks(n)
        x = torch.randn(30, 8, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no block warns that it keeps its own stream
            _, s = saved_activation_bytes(
                lambda ls=layers, x=x: run_loop(ls, x, edge_index), layers
            )
        _, one = saved_activation_bytes(
            lambda ls=layers, x=x: ReversibleSequential(ls)(x * 1.0, edge_index), layers
        )
        saved[n] = s.total
        assert s.total == one.total  # what one stack of the same blocks keeps
    assert saved[16] == saved[2]


def test_chained_blocks_compute_one_stack_and_the_plain_runs_gradients():
    layers, edge_index = sage_blocks(6), random_graph(30, 120)
    x0 = torch.randn(30, 8)
    results = {}
    for name, run in {
        "loop": lambda x: run_loop(layers, x, edge_index),
        "stack": lambda x: ReversibleSequential(layers)(x * 1.0, edge_index),
        "block and stack": lambda x: ReversibleSequential(layers[1:])(
            run_loop(layers[:1], x, edge_index), edge_index
        ),
        "plain": lambda x: run_loop(layers, x, edge_index, reversible=False),
    }.items():
        x = x0.clone().requires_grad_()
        out = run(x)
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        results[name] = (out.detach(), grads(layers, x))
        for block in layers:
            block.reversible = True
            block.zero_grad()
    ref = results["stack"]
    for name in ("loop", "block and stack"):
        assert torch.equal(results[name][0], ref[0]), name  # the same stream, bit for bit
        for g, r in zip(results[name][1], ref[1]):
            assert rel_err(g, r) < 1e-6
    for g, r in zip(results["loop"][1], results["plain"][1]):
        assert rel_err(g, r) < 1e-5


def test_chained_blocks_replay_dropout_and_free_nothing_the_caller_holds():
    layers, edge_index = sage_blocks(5, dropout=0.3), random_graph(30, 120)
    x0 = torch.randn(30, 8)

    def run(reversible):
        torch.manual_seed(3)
        x = x0.clone().requires_grad_()
        hs = [x * 1.0]
        for block in layers:
            hs.append(block(hs[-1], edge_index))
        values = [h.detach().clone() for h in hs]
        hs[-1].pow(2).sum().backward()
        for h, v in zip(hs, values):  # every output the caller keeps is intact
            assert torch.equal(h.detach(), v)
        return [g.clone() for g in grads(layers, x)]

    assert_plain_runs_gradients(layers, run)


def test_a_block_whose_successor_has_not_run_backward_rebuilds_its_stream():
    layers, edge_index = sage_blocks(3), random_graph(30, 120)
    x0 = torch.randn(30, 8)

    def run(reversible):
        x = x0.clone().requires_grad_()
        h1 = run_loop(layers[:1], x, edge_index, reversible)
        h3 = run_loop(layers[1:], h1, edge_index, reversible)
        # Deep supervision differentiated loss by loss: the first block's backward pass runs
        # before its successors' (inverted to rebuild its stream), then again after them.
        h1.sum().backward(retain_graph=True)
        first = x.grad.clone()
        h3.pow(2).sum().backward()
        return first, x.grad.clone()

    assert_plain_runs_gradients(layers, run)


def test_a_stream_handed_to_a_dropped_graph_is_refused_with_the_remedy():
    layers, edge_index = sage_blocks(2), random_graph(30, 120)
    x = torch.randn(30, 8, requires_grad=True)
    h1 = run_loop(layers[:1], x, edge_index)
    h2 = layers[1](h1, edge_index)
    del h2  # its graph, which holds the stream h1's block handed on, is gone
    with pytest.raises(RuntimeError, match=r"autograd graph is gone .* torch.no_grad\(\)"):
        h1.sum().backward()


def test_a_second_consumer_keeps_its_own_stream_with_a_warning():
    layers, edge_index = sage_blocks(3), random_graph(30, 120)
    x = torch.randn(30, 8, requires_grad=True)
    h1 = run_loop(layers[:1], x, edge_index)
    a = layers[1](h1, edge_index)  # continues h1's stream
    with pytest.warns(UserWarning, match="could not continue the stream"):
        b = layers[2](h1, edge_index)
    assert a.grad_fn.source is h1.grad_fn and b.grad_fn.source is None
    (a.sum() + b.sum()).backward()
    got = x.grad.clone()
    x.grad = None
    for block in layers:
        block.zero_grad()
    h1 = run_loop(layers[:1], x, edge_index, reversible=False)
    (layers[1](h1, edge_index).sum() + layers[2](h1, edge_index).sum()).backward()
    assert rel_err(got, x.grad) < 1e-5


def test_the_chains_first_backward_pass_makes_the_others_parameter_gradients():
    # Made before its own temporaries, as one stack makes all of its own: allocated between
    # each block's temporaries, they fragment the heap (the process grows by a working set a
    # block). A block called again (shared parameters) makes its own, one call at a time.
    edge_index = random_graph(30, 120)
    for tied in (False, True):
        layers = sage_blocks(1) * 3 if tied else sage_blocks(3)
        x = torch.randn(30, 8, requires_grad=True)
        hs = [x * 1.0]
        for block in layers:
            hs.append(block(hs[-1], edge_index))
        ahead = []

        def seen(grads, hs=hs, ahead=ahead):  # as the second block's backward pass begins
            for h in hs[1:3]:
                buffers = h.grad_fn.stack.grads_ahead
                ahead.append(None if buffers is None else [float(b.abs().sum()) for b in buffers])

        hs[2].grad_fn.register_prehook(seen)
        hs[-1].sum().backward()
        if tied:
            assert ahead == [None, None]
        else:
            assert ahead == [[0.0] * len(list(b.parameters())) for b in layers[:2]]
        assert all(h.grad_fn.stack.grads_ahead is None for h in hs[1:])  # all taken


def test_a_stream_a_hook_keeps_a_copy_of_is_not_continued():
    # save_on_cpu on a GPU, for one: the copy is what the backward pass reads.
    layers, edge_index = sage_blocks(3), random_graph(30, 120)
    x = torch.randn(30, 8, requires_grad=True)
    copies = torch.autograd.graph.saved_tensors_hooks(lambda t: t.clone(), lambda t: t)
    with copies, pytest.warns(UserWarning, match="saved-tensor hook keeps a copy"):
        out = run_loop(layers, x, edge_index)
    assert out.grad_fn.source is None
    out.pow(2).sum().backward()
    got = x.grad.clone()
    x.grad = None
    run_loop(layers, x, edge_index, reversible=False).pow(2).sum().backward()
    assert rel_err(got, x.grad) < 1e-5


def test_a_model_compiled_around_a_stack_gets_the_gradients_of_its_loss(compiled):
    # Inductor compiles the random numbers of a traced autograd Function's forward and
    # backward passes on its own: traced into, a stack's replayed dropout drew other masks in
    # the backward pass and the gradients were wrong (a directional derivative of 567 against
    # 283 by central differences, 4 GENConv blocks). The stack runs as written inside the
    # compiled model.
    from revgnn import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(num_layers=2, conv="sage", hidden_channels=8), 8, 3)
    model = model.double().train()
    compiled_model = torch.compile(model)
    x, edge_index = torch.randn(30, 8, dtype=torch.float64), random_graph(30, 120)
    params = list(model.parameters())
    direction = [torch.randn_like(p) for p in params]

    def loss():
        torch.manual_seed(3)
        return compiled_model(x, edge_index).sin().sum()

    torch.autograd.backward(loss())
    analytic = sum((p.grad * d).sum() for p, d in zip(params, direction))
    base = [p.detach().clone() for p in params]

    def shifted(step):
        with torch.no_grad():
            for p, b, d in zip(params, base, direction):
                p.copy_(b + step * d)
            return loss()

    numeric = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
    assert rel_err(analytic, numeric) <= 1e-6
