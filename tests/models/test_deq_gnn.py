from __future__ import annotations

import copy
import warnings

import pytest
import torch

from revgnn.memory import saved_activation_bytes
from revgnn.solvers import ConvergenceWarning
from tests.helpers import deq_gnn, random_graph, rel_err, rev_gnn

N, E, F_IN, D, C, EDGE = 40, 160, 6, 16, 3, 5


def graph(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, F_IN, generator=g)
    edge_attr = torch.randn(E, EDGE, generator=g)
    return x, random_graph(N, E, seed), edge_attr


def step(model: torch.nn.Module, x, edge_index, edge_attr=None, seed: int = 1):
    x = x.clone().requires_grad_()
    torch.manual_seed(seed)  # the same shared dropout mask in every run
    out = model(x, edge_index, edge_attr)
    (out * torch.linspace(-1, 1, out.size(-1))).sin().sum().backward()
    grads = {"out": out.detach(), "x": x.grad}
    grads.update({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
    return grads


@pytest.mark.parametrize("block", ["rev", "res+"])
@pytest.mark.parametrize("edges", [False, True])
def test_forward_shapes_and_gradients(block, edges):
    torch.manual_seed(0)
    x, edge_index, edge_attr = graph()
    model = deq_gnn(F_IN, D, C, 3, edge_dim=EDGE if edges else None, block=block, max_iter=40)
    grads = step(model, x, edge_index, edge_attr if edges else None)
    assert grads["out"].shape == (N, C)
    for name, p in model.named_parameters():
        if name.endswith((".t", ".p")):  # GENConv's fixed (not learned) aggregation scalars
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.log_metrics()["deq_forward_converged"] == 1.0


@pytest.mark.parametrize("block", ["rev", "res+"])
def test_implicit_gradients_equal_the_unrolled_weight_tied_network(block):
    # 200 weight-tied layers through the same cell, backprop through all of them, against the
    # equilibrium with implicit gradients: same outputs and gradients (fp32, 1e-4).
    torch.manual_seed(0)
    x, edge_index, edge_attr = graph()
    model = deq_gnn(
        F_IN, D, C, 200, edge_dim=EDGE, block=block, max_iter=200, tol=1e-6, dropout=0.2
    )
    got = step(model, x, edge_index, edge_attr)
    assert model.deq.forward_stats.converged and model.deq.backward_stats.converged
    ref_model = copy.deepcopy(model)
    ref_model.zero_grad()
    ref_model.unrolled = True
    ref = step(ref_model, x, edge_index, edge_attr)
    assert got.keys() == ref.keys()
    errors = {k: rel_err(got[k], ref[k]) for k in ref}
    assert max(errors.values()) <= 1e-4, errors


def test_saved_bytes_do_not_depend_on_iterations_but_unrolled_grows():
    torch.manual_seed(0)
    x, edge_index, edge_attr = graph()
    model = deq_gnn(F_IN, D, C, 5, edge_dim=EDGE)
    saved = {}
    for max_iter in (5, 50):
        model.deq.max_iter = model.deq.backward_max_iter = max_iter
        model.deq.tol = model.deq.backward_tol = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out, s = saved_activation_bytes(
                lambda: model(x, edge_index, edge_attr), exclude=[model]
            )
            assert model.deq.forward_stats.iterations == max_iter
            out.sum().backward()
            assert model.deq.backward_stats.iterations == max_iter
        saved[("deq", max_iter)] = s.total
    model.unrolled = True
    for layers in (5, 50):
        model.deq.unrolled_layers = layers
        _, s = saved_activation_bytes(lambda: model(x, edge_index, edge_attr), exclude=[model])
        saved[("unrolled", layers)] = s.total
    assert saved[("deq", 5)] == saved[("deq", 50)]
    assert saved[("unrolled", 50)] > 5 * saved[("unrolled", 5)]
    assert saved[("deq", 50)] < saved[("unrolled", 5)]


def test_warmup_epochs_switch_from_unrolled_to_equilibrium():
    torch.manual_seed(0)
    x, edge_index, _ = graph()
    model = deq_gnn(F_IN, D, C, 4, warmup_epochs=2)
    assert model.unrolled
    modes = []
    for epoch in (1, 2, 3, 4):
        model.epoch_start(epoch)
        step(model, x, edge_index)
        metrics = model.log_metrics()
        modes.append(metrics["deq_unrolled"])
        assert all(isinstance(v, float) for v in metrics.values())
    assert modes == [1.0, 1.0, 0.0, 0.0]
    metrics = model.log_metrics()
    for key in ("forward", "backward"):
        assert metrics[f"deq_{key}_iterations"] >= 1
        assert metrics[f"deq_{key}_residual"] <= model.deq.tol
        assert metrics[f"deq_{key}_converged"] == 1.0
    # Without warm-up, epoch_start leaves the equilibrium on.
    plain = deq_gnn(F_IN, D, C, 4)
    plain.epoch_start(1)
    assert not plain.unrolled and plain.log_metrics() == {
        "deq_unrolled": 0.0,
        "deq_forward_unconverged_total": 0.0,
        "deq_backward_unconverged_total": 0.0,
    }


def test_shares_revgnn_encoders_and_head():
    torch.manual_seed(0)
    model = deq_gnn(F_IN, D, C, 4, edge_dim=EDGE)
    wt = rev_gnn(F_IN, D, C, 4, edge_dim=EDGE, weight_tied=True, norm="layer")
    assert type(model.encoder) is type(wt.encoder) and type(model.head) is type(wt.head)
    names = {n for n, _ in wt.named_parameters() if not n.startswith("layers.")}
    assert names <= {n for n, _ in model.named_parameters()}
    # The cell holds RevGNN's weight-tied block, parameter for parameter.
    block = {n.removeprefix("layers.blocks.0.") for n, _ in wt.named_parameters() if "blocks" in n}
    cell = {
        n.removeprefix("deq.f.block.blocks.0.")
        for n, _ in model.named_parameters()
        if "blocks" in n
    }
    assert block == cell
    # The cell is RevGNN's weight-tied block plus a LayerNorm; nothing depends on num_layers.
    count = sum(p.numel() for p in model.parameters())
    assert count == sum(p.numel() for p in wt.parameters()) + 2 * D
    assert count == sum(p.numel() for p in deq_gnn(F_IN, D, C, 400, edge_dim=EDGE).parameters())


@pytest.mark.parametrize(("hidden", "expected"), [(64, 21_616), (224, 182_896)])
def test_parameter_counts_on_ogbn_proteins_dimensions(hidden, expected):
    # Published: DEQ-GNN-64 51.3k, DEQ-GNN-224 537k; the authors never released the cell.
    # Ours: RevGNN's 2-group GENConv block (about 3 D^2) + LayerNorm + encoders + head.
    model = deq_gnn(8, hidden, 112, 10, edge_dim=8)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_non_finite_input_raises():
    x, edge_index, edge_attr = graph()
    model = deq_gnn(F_IN, D, C, 3, edge_dim=EDGE)
    bad = x.clone()
    bad[0, 0] = float("inf")
    message = r"x has 1 NaN or inf entries of 240 \(first in row 0\): the model needs finite"
    with pytest.raises(ValueError, match=message):
        model(bad, edge_index, edge_attr)
    bad_e = edge_attr.clone()
    bad_e[1, 1] = float("nan")
    with pytest.raises(ValueError, match="edge_attr has 1 NaN or inf entries"):
        model(x, edge_index, bad_e)
    with pytest.raises(ValueError, match="edge_attr must be given exactly when"):
        model(x, edge_index)


def test_jacobian_regularizer_needs_a_non_reversible_block():
    with pytest.raises(
        ValueError, match=r"needs double backward.*conv_options=\{\"lean\": False\}"
    ):
        deq_gnn(F_IN, D, C, 3, jac_reg_weight=0.1)
    # The reversible cell keeps its graph (double backward) when the regulariser is on.
    assert not deq_gnn(F_IN, D, C, 3, jac_reg_weight=0.1, conv_options={"lean": False}).reversible
    with pytest.raises(ValueError, match=r"jac_reg_weight=0.1 .*; pass conv_options=\{\"lean\""):
        deq_gnn(F_IN, D, C, 3, jac_reg_weight=0.1, block="res+")
    torch.manual_seed(0)
    x, edge_index, _ = graph()
    for kwargs in ({"reversible": False}, {"block": "res+"}):
        model = deq_gnn(F_IN, D, C, 3, jac_reg_weight=0.1, conv_options={"lean": False}, **kwargs)
        grads = step(model, x, edge_index)
        assert model.log_metrics()["deq_jac_loss"] > 0
        assert all(torch.isfinite(g).all() for g in grads.values())


def test_phantom_gradients_train_and_bf16_autocast_is_finite():
    torch.manual_seed(0)
    x, edge_index, edge_attr = graph()
    model = deq_gnn(F_IN, D, C, 3, edge_dim=EDGE, grad="phantom", phantom_steps=3)
    grads = step(model, x, edge_index, edge_attr)
    assert "deq_backward_iterations" not in model.log_metrics()
    assert all(torch.isfinite(g).all() for g in grads.values())
    model = deq_gnn(F_IN, D, C, 3, edge_dim=EDGE)
    xx = x.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(xx, edge_index, edge_attr)
    out.float().square().mean().backward()
    assert torch.isfinite(xx.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_loss_decreases_when_training():
    torch.manual_seed(0)
    x, edge_index, _ = graph()
    y = torch.randint(0, C, (N,))
    model = deq_gnn(F_IN, D, C, 3, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, edge_index), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_reset_parameters_repr_and_argument_errors():
    torch.manual_seed(0)
    model = deq_gnn(F_IN, D, C, 7, edge_dim=EDGE, solver="broyden")
    before = [p.detach().clone() for p in model.parameters()]
    model.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    text = repr(model)
    assert text.startswith("DEQGNN(6, 16, 3, num_layers=7, cell='rev'")
    assert "solver='broyden'" in text
    assert model.num_layers == 7 and model.weight_tied and model.reversible
    model.reversible = False
    assert not model.reversible
    with pytest.raises(ValueError, match="deq_cell='gat' must be one of rev, res\\+"):
        deq_gnn(F_IN, D, C, 3, block="gat")
    with pytest.raises(ValueError, match="warmup_epochs=-1 must be at least 0"):
        deq_gnn(F_IN, D, C, 3, warmup_epochs=-1)
    with pytest.raises(
        ValueError, match=r"reversible applies to a reversible cell \(deq_cell='rev'\)"
    ):
        deq_gnn(F_IN, D, C, 3, block="res+").reversible = True


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_model_cast_to_half_precision_solves_in_fp32_and_trains(dtype):
    # The solver's state is fp32; the cell, cast to half precision, takes its own dtype
    # (it was handed the fp32 state: "mat1 and mat2 must have the same dtype").
    torch.manual_seed(0)
    model = deq_gnn(F_IN, D, C, 3, max_iter=8).to(dtype)
    x, edge_index = torch.randn(30, F_IN).to(dtype), random_graph(30, 120)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        out = model(x, edge_index)
        out.float().sum().backward()
    assert out.dtype == dtype
    assert all(p.grad.dtype == dtype and torch.isfinite(p.grad).all() for p in model.parameters())
