from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from torch import Tensor, nn
from torch_geometric.nn import GENConv
from torch_geometric.utils import scatter

from revgnn import GroupAddRev, PreActConv, ReversibleSequential
from revgnn.memory import measure_peak, saved_activation_bytes
from revgnn.nn.rev_stack import RevStack
from tests.helpers import random_graph, rel_err

N, D, E = 30, 12, 120


class MeanConv(nn.Module):
    """A small message-passing block with nn.Dropout and BatchNorm1d inside."""

    def __init__(self, channels: int, dropout: float = 0.3) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, channels)
        self.norm = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, scale: Tensor | None = None) -> Tensor:
        h = self.drop(torch.relu(self.norm(x)))
        if scale is not None:
            h = h * scale
        msg = scatter(h[edge_index[0]], edge_index[1], 0, dim_size=x.size(0), reduce="mean")
        return self.lin(msg)


def gen_block(channels: int, num_groups: int, edge_dim: int | None, dropout: float) -> GroupAddRev:
    c = channels // num_groups
    conv = GENConv(c, c, aggr="softmax", learn_t=True, edge_dim=edge_dim, bias=True)
    return GroupAddRev(PreActConv(conv, c, norm="batch", dropout=dropout), num_groups=num_groups)


def step(stack: nn.Module, x: Tensor, edge_index: Tensor, *args, seed: int = 7, **kwargs):
    """One training step; returns output, input grad, kwarg grads, param grads, buffers."""
    x = x.clone().requires_grad_()
    kwargs = {k: v.clone().requires_grad_() for k, v in kwargs.items()}
    torch.manual_seed(seed)
    out = stack(x, edge_index, *args, **kwargs)
    weight = torch.linspace(-1, 1, out.size(-1))
    (out * weight).sin().sum().backward()
    return {
        "out": out.detach(),
        "x": x.grad,
        **{f"kw.{k}": v.grad for k, v in kwargs.items()},
        **{f"p.{n}": p.grad for n, p in stack.named_parameters()},
        **{f"b.{n}": b.clone() for n, b in stack.named_buffers()},
        "rng_after": torch.rand(4),
    }


def compare(stack: nn.Module, *args, tol: float = 1e-5, **kwargs) -> dict[str, float]:
    plain, rev = copy.deepcopy(stack), copy.deepcopy(stack)
    plain.reversible, rev.reversible = False, True
    ref = step(plain, *args, **kwargs)
    got = step(rev, *args, **kwargs)
    assert ref.keys() == got.keys()
    errors = {}
    for key in ref:
        assert got[key] is not None and ref[key] is not None, key
        errors[key] = (
            rel_err(got[key], ref[key])
            if ref[key].abs().sum() > 0
            else (got[key] - ref[key]).abs().max().item()
        )
    bad = {k: v for k, v in errors.items() if not v <= tol}
    assert not bad, bad
    return errors


@pytest.mark.parametrize("num_layers", [2, 8, 32])
@pytest.mark.parametrize("num_groups", [2, 3, 4])
@pytest.mark.parametrize("edges", [False, True])
def test_gradients_equal_plain_run(num_layers, num_groups, edges):
    torch.manual_seed(0)
    x = torch.randn(N, D)
    edge_index = random_graph(N, E)
    edge_dim = D if edges else None
    stack = ReversibleSequential(
        [gen_block(D, num_groups, edge_dim, dropout=0.2) for _ in range(num_layers)]
    )
    kwargs = {"edge_attr": torch.randn(E, D)} if edges else {}
    compare(stack, x, edge_index, None, **kwargs)


def test_gradients_equal_plain_run_at_depth_256():
    # PyG's GroupAddRev is off by 4e-4 (worst tensor 0.31) at 448 layers in fp32
    # (docs/peer_defects.md).
    torch.manual_seed(0)
    x = torch.randn(N, D)
    stack = ReversibleSequential([gen_block(D, 2, None, dropout=0.1) for _ in range(256)])
    compare(stack, x, random_graph(N, E), None)


def test_nn_dropout_module_and_chunked_positional_argument():
    torch.manual_seed(0)
    x = torch.randn(N, D)
    scale = torch.rand(N, D)  # chunked: last dim == channels
    stack = ReversibleSequential([GroupAddRev(MeanConv(D // 3), num_groups=3) for _ in range(6)])
    errors = compare(stack, x, random_graph(N, E), scale)
    assert errors["x"] <= 1e-6


def test_weight_tied_parameters_and_gradients():
    torch.manual_seed(0)
    block = gen_block(D, 2, D, dropout=0.2)
    shallow = ReversibleSequential.weight_tied(block, 2)
    deep = ReversibleSequential.weight_tied(block, 40)
    count = sum(p.numel() for p in block.parameters())
    assert sum(p.numel() for p in shallow.parameters()) == count
    assert sum(p.numel() for p in deep.parameters()) == count
    assert deep.num_layers == 40 and len(deep.layers) == 40
    assert len(deep.state_dict()) == len(block.state_dict())
    compare(deep, torch.randn(N, D), random_graph(N, E), None, edge_attr=torch.randn(E, D))


def test_single_block_equals_plain_and_warns_when_it_cannot_continue_a_stream():
    torch.manual_seed(0)
    block = gen_block(D, 2, None, dropout=0.2)
    compare(block, torch.randn(N, D), random_graph(N, E), None)
    h = torch.randn(N, D, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):  # each call continues the previous one's stream
            h = block(h, random_graph(N, E))
    assert not caught
    block.stream_dtype = torch.float32  # a stream of the output's own dtype: the caller's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(4):
            h = block(h, random_graph(N, E))
    # Once, and attributed to the line that chains the blocks (not to torch's module.py).
    assert len(caught) == 1 and "ReversibleSequential" in str(caught[0].message)
    assert caught[0].filename == __file__


def test_batchnorm_running_stats_updated_once_per_step():
    torch.manual_seed(0)
    stack = ReversibleSequential([gen_block(D, 2, None, dropout=0.0) for _ in range(4)])
    plain = copy.deepcopy(stack)
    plain.reversible = False
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    for model in (stack, plain):
        model(x.requires_grad_(), edge_index, None).sum().backward()
    for (name, b), (_, ref) in zip(stack.named_buffers(), plain.named_buffers()):
        if name.endswith("num_batches_tracked"):
            assert b.item() == 1, name
        assert torch.equal(b, ref), name


def test_kwargs_are_broadcast_and_positional_args_chunked():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x, edge_index, a, b, *, c, d=None):
            seen.append((tuple(a.shape), tuple(b.shape), tuple(c.shape), d))
            return self.lin(x * a[:, :4] + c[:, :4]) + b.sum()

    block = GroupAddRev(Probe(), num_groups=2)
    x = torch.randn(N, 8, requires_grad=True)
    a = torch.randn(N, 8, requires_grad=True)  # last dim == channels: chunked
    b = torch.randn(3, requires_grad=True)  # broadcast
    c = torch.randn(N, 8, requires_grad=True)  # keyword: broadcast even though dim == 8
    stack = ReversibleSequential([block])
    stack(x, None, a, b, c=c, d="flag").sum().backward()
    assert seen[:2] == [((N, 4), (3,), (N, 8), "flag")] * 2
    got = [t.grad.clone() for t in (x, a, b, c)]
    for t in (x, a, b, c):
        t.grad = None
    stack.reversible = False
    stack(x, None, a, b, c=c, d="flag").sum().backward()
    for g, t in zip(got, (x, a, b, c)):
        assert rel_err(g, t.grad) <= 1e-6


def test_bf16_autocast_step_matches_plain_bf16():
    torch.manual_seed(0)
    stack = ReversibleSequential([gen_block(D, 2, D, dropout=0.2) for _ in range(6)])
    x, edge_index, edge_attr = torch.randn(N, D), random_graph(N, E), torch.randn(E, D)
    results = {}
    for rev in (False, True):
        model = copy.deepcopy(stack)
        model.reversible = rev
        xx = x.clone().requires_grad_()
        torch.manual_seed(3)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            h = nn.functional.linear(xx, torch.eye(D))  # bf16 input, as from an encoder
            out = model(h, edge_index, None, edge_attr=edge_attr)
        # The residual stream stays in full precision under autocast.
        assert h.dtype == torch.bfloat16 and out.dtype == torch.float32
        out.square().mean().backward()
        results[rev] = [xx.grad] + [p.grad for p in model.parameters()]
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        opt.step()
        assert all(torch.isfinite(p).all() for p in model.parameters())
    for got, ref in zip(results[True], results[False]):
        assert rel_err(got, ref) <= 1e-2


def test_autocast_is_reentered_in_backward():
    calls = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x, edge_index):
            calls.append(torch.is_autocast_enabled("cpu"))
            return self.lin(x)

    stack = ReversibleSequential([GroupAddRev(Spy(), num_groups=2) for _ in range(3)])
    x = torch.randn(5, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = stack(x, None)
    out.sum().backward()  # outside autocast, as training loops do
    assert calls == [True] * 12


def test_float32_stream_gradients_at_1001_layers_and_the_snapshot_bound():
    # Against the exact gradients (the float64 stream, bitwise the non-reversible run): a
    # float32 stream drifts (x.grad 7.2e-2, all parameters 5.7e-2 here); snapshots every 100
    # blocks bring it to 3.5e-3 / 3.3e-3. A 1001-layer fp32 computation amplifies rounding
    # chaotically (the same check over seeds and thread counts: 2e-5 to 1.5e-2 with snapshots),
    # so the test asserts the factor snapshots gain over the drift, not one realisation.
    torch.manual_seed(0)
    x = torch.randn(16, 8)
    edge_index = random_graph(16, 48)
    blocks = [gen_block(8, 2, None, dropout=0.1) for _ in range(1001)]

    def grads(**kwargs) -> tuple[Tensor, Tensor]:
        got = step(ReversibleSequential(copy.deepcopy(blocks), **kwargs), x, edge_index, None)
        params = torch.cat([v.flatten() for k, v in got.items() if k.startswith("p.")])
        return got["x"], params

    exact = grads(reversible=False)
    drift = [rel_err(a, b) for a, b in zip(grads(stream_dtype=torch.float32), exact)]
    bounded = grads(stream_dtype=torch.float32, snapshot_every=100)
    bounded = [rel_err(a, b) for a, b in zip(bounded, exact)]
    assert min(drift) > 1e-2
    assert max(bounded) < min(drift) / 10


def test_reconstruction_drift_at_1001_layers():
    torch.manual_seed(0)
    x = torch.randn(16, 8)
    edge_index = random_graph(16, 48)
    blocks = [gen_block(8, 2, None, dropout=0.1) for _ in range(1001)]
    exact = ReversibleSequential(blocks)
    fp32 = ReversibleSequential(blocks, stream_dtype=torch.float32)
    err64 = exact.reconstruction_error(x, edge_index, None)
    err32 = fp32.reconstruction_error(x, edge_index, None)
    assert err64 <= 1e-9
    # The fp32 stream drifts measurably (the peers' behaviour); fp64 bounds it.
    assert err32 > 1e-7


def test_inverse_rebuilds_input_in_eval_mode():
    torch.manual_seed(0)
    stack = ReversibleSequential([gen_block(D, 3, D, dropout=0.5) for _ in range(5)]).eval()
    x, edge_index, edge_attr = torch.randn(N, D, dtype=torch.float64), random_graph(N, E), None
    stack.double()
    y = stack(x, edge_index, None, edge_attr=edge_attr)
    assert rel_err(stack.inverse(y, edge_index, None, edge_attr=edge_attr), x) <= 1e-12


def test_second_backward_needs_retain_graph_and_then_repeats_gradients():
    torch.manual_seed(0)
    stack = ReversibleSequential([gen_block(D, 2, None, dropout=0.3) for _ in range(3)])
    x = torch.randn(N, D, requires_grad=True)
    edge_index = random_graph(N, E)
    out = stack(x, edge_index, None)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.sum().backward()

    out = stack(x, edge_index, None)
    stack.zero_grad()
    x.grad = None
    out.sum().backward(retain_graph=True)
    first = [x.grad.clone()] + [p.grad.clone() for p in stack.parameters()]
    out.sum().backward()
    second = [x.grad] + [p.grad for p in stack.parameters()]
    for a, b in zip(first, second):
        assert torch.allclose(2 * a, b, rtol=1e-6, atol=1e-7)


def test_create_graph_is_refused():
    stack = ReversibleSequential([gen_block(D, 2, None, dropout=0.0) for _ in range(2)])
    x = torch.randn(N, D, requires_grad=True)
    out = stack(x, random_graph(N, E), None)
    with pytest.raises(RuntimeError, match="do not support double backward"):
        torch.autograd.grad(out.sum(), x, create_graph=True)


def test_parameter_modified_between_forward_and_backward_is_an_error():
    stack = ReversibleSequential([gen_block(D, 2, None, dropout=0.0) for _ in range(2)])
    out = stack(torch.randn(N, D, requires_grad=True), random_graph(N, E), None)
    with torch.no_grad():
        next(stack.parameters()).add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place between the forward"):
        out.sum().backward()


def test_output_modified_in_place_is_an_error():
    stack = ReversibleSequential([gen_block(D, 2, None, dropout=0.0) for _ in range(2)])
    stack.stream_dtype = torch.float32  # the output itself is what the node keeps
    out = stack(torch.randn(N, D, requires_grad=True), random_graph(N, E), None)
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_argument_errors_name_the_numbers():
    with pytest.raises(ValueError, match="num_groups=1 must be at least 2"):
        GroupAddRev(nn.Linear(4, 4), num_groups=1)
    with pytest.raises(ValueError, match="num_groups is required"):
        GroupAddRev(nn.Linear(4, 4))
    block = GroupAddRev(MeanConv(4), num_groups=3)
    with pytest.raises(ValueError, match="num_groups=3 must divide channels=8"):
        block(torch.randn(5, 8), random_graph(5, 10))
    with pytest.raises(ValueError, match=r"x must have shape \[num_nodes, channels\]"):
        block(torch.randn(8), random_graph(5, 10))
    with pytest.raises(TypeError, match="blocks\\[1\\] is a Linear"):
        ReversibleSequential([block, nn.Linear(2, 2)])
    with pytest.raises(ValueError, match="same num_groups"):
        ReversibleSequential([block, GroupAddRev(MeanConv(3), num_groups=2)])(
            torch.randn(5, 12), random_graph(5, 10)
        )


def test_group_copies_are_independently_initialised():
    block = GroupAddRev(MeanConv(6), num_groups=3)
    weights = [conv.lin.weight for conv in block.convs]
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
    assert "num_groups=3" in repr(block)
    stack = ReversibleSequential.weight_tied(block, 100)
    assert "100 x GroupAddRev" in repr(stack) and "weight_tied=True" in repr(stack)


def saved_bytes(num_layers: int, reversible: bool, dropout: float = 0.0) -> int:
    torch.manual_seed(0)
    stack = ReversibleSequential(
        [gen_block(D, 2, D, dropout=dropout) for _ in range(num_layers)], reversible=reversible
    )
    x = torch.randn(N, D, requires_grad=True)
    edge_index, edge_attr = random_graph(N, E), torch.randn(E, D, requires_grad=True)
    _, saved = saved_activation_bytes(
        lambda: stack(x, edge_index, None, edge_attr=edge_attr), exclude=[stack]
    )
    return saved.total


def test_saved_activations_do_not_grow_with_depth():
    shallow, deep = saved_bytes(4, True), saved_bytes(64, True)
    assert abs(deep - shallow) <= 0.05 * shallow, (shallow, deep)
    # The same count grows linearly for the plain stack, so the counter sees activations.
    assert saved_bytes(64, False) > 10 * saved_bytes(4, False)


def test_ordinary_dropout_costs_nothing_in_depth():
    # Replaying ordinary dropout needs one seed per stack call, whatever its depth (it kept
    # the CPU generator's whole state, 5,056 bytes, per random group and layer before).
    with_dropout = saved_bytes(12, True, dropout=0.2)
    assert with_dropout == saved_bytes(4, True, dropout=0.2) == saved_bytes(4, True)


SAFETY_SCRIPT = textwrap.dedent(
    """
    import torch
    from torch_geometric.nn import GENConv
    from revgnn import GroupAddRev, PreActConv, ReversibleSequential
    torch.manual_seed(0)
    blocks = [GroupAddRev(PreActConv(GENConv(4, 4, bias=True), 4), num_groups=2)
              for _ in range(3)]
    stack = ReversibleSequential(blocks)
    x = torch.randn(20, 8)
    edge_index = torch.randint(0, 20, (2, 60))
    before = x.clone()
    with torch.no_grad():
        y = stack(x, edge_index, None)
    assert torch.equal(x, before) and torch.isfinite(y).all()
    h = x.clone().requires_grad_()
    out = stack(h, edge_index, None)
    snapshot = (h.sum().item(), out.sum().item())
    out.sum().backward()
    assert (h.sum().item(), out.sum().item()) == snapshot
    assert torch.equal(h.detach(), before) and h.grad is not None
    print("SAFE", float(out.sum()))
    """
)


def test_caller_tensors_stay_readable_after_forward_and_backward():
    # In a subprocess: freeing a caller's storage (the peers' behaviour) segfaults.
    proc = subprocess.run(
        [sys.executable, "-c", SAFETY_SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "SAFE" in proc.stdout


class _Dense(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.lin = nn.Linear(c, c)

    def forward(self, x: Tensor, edge_index: Tensor | None) -> Tensor:
        return self.lin(x).tanh()


def test_autocast_recompute_does_not_keep_every_blocks_weight_copies():
    # Autocast caches the bf16 copy of each weight it casts until its context exits; the
    # backward walk must drop each block's copies, or they pile up (2 bytes a parameter) and
    # fragment the CPU heap. Tiny inputs: the parameters dominate the backward's peak.
    def backward_peak(layers: int) -> tuple[int, int]:
        torch.manual_seed(0)
        stack = ReversibleSequential(
            [GroupAddRev(_Dense(128), num_groups=2) for _ in range(layers)]
        )
        x = torch.randn(4, 256, requires_grad=True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = stack(x, None).float().sum()
        _, peak = measure_peak(loss.backward, torch.device("cpu"))
        return peak.step_bytes, sum(p.numel() for p in stack.parameters())

    (b2, p2), (b16, p16) = backward_peak(2), backward_peak(16)
    # 4 bytes a parameter are its fp32 gradient; the cached copies would add 2 more.
    assert (b16 - b2) / (p16 - p2) < 4.5


@pytest.mark.parametrize("num_groups", [2, 3])
def test_damped_coupling_gradients_equal_plain_run_and_invert(num_groups):
    torch.manual_seed(0)
    x = torch.randn(N, D)
    edge_index = random_graph(N, E)
    blocks = [gen_block(D, num_groups, D, dropout=0.2) for _ in range(24)]
    stack = ReversibleSequential(blocks, damping=0.3)
    errors = compare(stack, x, edge_index, None, edge_attr=torch.randn(E, D))
    assert errors["x"] <= 1e-12  # the scaled stream rebuilds the plain run's values exactly
    assert stack.reconstruction_error(x, edge_index, None, edge_attr=torch.randn(E, D)) == 0.0
    stack.eval().double()
    x64, e64 = x.double(), torch.randn(E, D, dtype=torch.float64)
    y = stack(x64, edge_index, None, edge_attr=e64)
    # The inverse has no record of the forward's grid (2^-34 of the input's largest value
    # here): exact to about that step, amplified over 24 blocks (1.2e-9 measured).
    assert rel_err(stack.inverse(y, edge_index, None, edge_attr=e64), x64) <= 1e-8
    tied = ReversibleSequential.weight_tied(gen_block(D, 2, None, 0.2), 10, damping=0.3)
    assert tied.damping == 0.3 and tied.num_layers == 10
    assert "damping=0.3" in repr(stack) and "damping" not in repr(ReversibleSequential(blocks))


@pytest.mark.parametrize("snapshot_every", [None, 7])
def test_deep_damped_stack_rescales_and_regrids_exactly(snapshot_every):
    # d = 0.5 over 40 blocks: (1/2)^40 is past the rescaling threshold twice, where the
    # stream is multiplied by a power of two, and its growth, 2^40, is more than one grid
    # holds, so the stream moves to a coarser grid once on the way (without the grid the
    # rebuild was inexact past 16-20 blocks and the gradients entirely off).
    torch.manual_seed(0)
    x = torch.randn(N, D)
    edge_index = random_graph(N, E)
    blocks = [gen_block(D, 2, None, dropout=0.2) for _ in range(40)]
    stack = ReversibleSequential(blocks, damping=0.5, snapshot_every=snapshot_every)
    errors = compare(stack, x, edge_index, None)
    assert errors["x"] <= 1e-12 and max(errors.values()) <= 1e-12
    assert stack.reconstruction_error(x, edge_index, None) == 0.0
    run = RevStack(stack.blocks, x, edge_index, [], {}, torch.float64, snapshot_every, 0.5)
    with torch.no_grad():
        _, kept = run.forward(x, record=True)
    regrids = sorted(set(kept.grids) - {0})
    assert regrids and set(regrids) <= set(kept.snapshots)
    assert set(kept.snapshots) == set(regrids) | set(run.snapshot_layers())
    with pytest.raises(ValueError, match=r"snapshot_every=0 must be at least 1"):
        ReversibleSequential(blocks, damping=0.5, snapshot_every=0)


class _Amplify(nn.Module):
    """A branch of output ``gain`` times its input (plus a learned part): activations that
    outgrow their grid."""

    def __init__(self, channels: int, gain: float) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, channels)
        self.gain = gain

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.gain * x + torch.tanh(self.lin(x))


@pytest.mark.parametrize("gain", [3.0, 1e6])
def test_damped_stream_that_outgrows_its_grid_stays_exact(gain):
    # gain 3 over 30 blocks at d = 0.25 grows the activations far past the grid's headroom:
    # the stream moves to coarser grids between blocks. A gain of 1e6 makes single blocks
    # outgrow the grid before the check between blocks can act: their exact inputs are
    # kept, and the rebuild restarts from them.
    torch.manual_seed(0)
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    at = (5, 15, 25) if gain < 100 else (15,)
    gains = [gain if li in at else 0.5 for li in range(30)]
    blocks = [GroupAddRev(_Amplify(D // 2, g), num_groups=2) for g in gains]
    stack = ReversibleSequential(blocks, damping=0.25)
    errors = compare(stack, x, edge_index)
    assert max(errors.values()) <= 1e-12
    assert stack.reconstruction_error(x, edge_index) == 0.0
    run = RevStack(stack.blocks, x, edge_index, [], {}, torch.float64, None, 0.25)
    with torch.no_grad():
        _, kept = run.forward(x, record=True)
    assert len(kept.grids) > 1
    assert bool(kept.inputs) or gain < 100


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_deep_damped_stack_under_autocast_matches_plain(dtype):
    # A half-precision branch output's increment f / (1 - d)^(l+1) and its gradient are
    # scaled in fp32: in fp16 they overflowed from 1 / (1 - d)^(l+1) ~ 6e4 on (block 8 here).
    torch.manual_seed(0)
    blocks = [gen_block(D, 2, None, dropout=0.0) for _ in range(10)]
    stack = ReversibleSequential(blocks, damping=0.75)
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    results = {}
    for rev in (False, True):
        model = copy.deepcopy(stack)
        model.reversible = rev
        xx = x.clone().requires_grad_()
        with torch.autocast("cpu", dtype=dtype):
            out = model(nn.functional.linear(xx, torch.eye(D)), edge_index, None)
        out.square().mean().backward()
        results[rev] = [xx.grad] + [p.grad for p in model.parameters()]
        assert all(torch.isfinite(g).all() for g in results[rev])
    for got, ref in zip(results[True], results[False]):
        assert rel_err(got, ref) <= 1e-2


class Constant(nn.Module):
    """A group function that ignores its input: its fixed point is the constant."""

    def __init__(self, value: Tensor) -> None:
        super().__init__()
        self.value = nn.Parameter(value)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.value.expand_as(x)


@pytest.mark.parametrize(("d", "layers"), [(0.25, 12), (0.25, 400), (0.75, 70)])
def test_damped_stack_steps_towards_the_branch_fixed_point(d, layers):
    # Branches d * c and coupling X' = (1 - d) X + d c: after L blocks the stream is
    # (1 - d)^L X + (1 - (1 - d)^L) c, the damped iteration towards c. (1 - d)^L leaves
    # fp32's range at the two deep settings: the fp32 increments used to overflow to inf.
    c = torch.randn(D // 2)
    blocks = [GroupAddRev([Constant(d * c), Constant(d * c)]) for _ in range(layers)]
    x = torch.randn(N, D, requires_grad=True)
    out = ReversibleSequential(blocks, damping=d)(x, random_graph(N, E))
    keep = (1 - d) ** layers
    torch.testing.assert_close(out, keep * x.detach() + (1 - keep) * c.repeat(2))
    out.sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, keep), atol=1e-12, rtol=1e-5)
    with pytest.raises(ValueError, match=r"damping=1.0 must lie in \[0, 1\)"):
        ReversibleSequential(blocks, damping=1.0)


def test_one_node_graph_with_a_float32_stream_keeps_its_output():
    # A [1, C, D/C] permuted view is already contiguous: the stream buffers must still be
    # copies, or the backward pass edits the saved output in place (it used to raise).
    torch.manual_seed(0)
    blocks = [GroupAddRev(MeanConv(2, dropout=0.0), num_groups=2) for _ in range(3)]
    stack = ReversibleSequential(blocks, stream_dtype=torch.float32).eval()
    x = torch.randn(1, 4, requires_grad=True)
    given = x.detach().clone()
    y = stack(x, torch.zeros(2, 0, dtype=torch.long))
    assert torch.equal(x.detach(), given)  # the forward pass used to write into it
    before = y.detach().clone()
    y.sum().backward(retain_graph=True)
    first, x.grad = x.grad.clone(), None
    assert torch.equal(y.detach(), before)
    y.sum().backward()
    assert torch.equal(x.grad, first)
