from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch import Tensor, nn
from torch_geometric.utils import scatter

from revgnn import DEQ, GroupAddRev, ReversibleSequential
from revgnn.memory import saved_activation_bytes
from revgnn.nn.deq import jacobian_regularizer
from revgnn.solvers import ConvergenceWarning
from tests.helpers import random_graph, rel_err

N, D, E = 30, 8, 120
SOLVERS = ["fixed_point", "anderson", "broyden"]


class GraphCell(nn.Module):
    r"""f(z, x) = tanh(s * mean_{u->v}(z_u) W / ||W||_2 + b + x U), optionally with a
    BatchNorm on the injection. A contraction for s < 1; expansive for large s."""

    def __init__(self, channels: int, scale: float, batch_norm: bool = False) -> None:
        super().__init__()
        self.lin = nn.Linear(channels, channels)
        self.inj = nn.Linear(channels, channels)
        self.bn = nn.BatchNorm1d(channels) if batch_norm else None
        self.scale = scale

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        self.inj.reset_parameters()

    def forward(self, z: Tensor, x: Tensor, edge_index: Tensor, gate: Tensor | None = None):
        msg = scatter(z[edge_index[0]], edge_index[1], 0, dim_size=z.size(0), reduce="mean")
        w = self.lin.weight / torch.linalg.matrix_norm(self.lin.weight.float(), 2).detach()
        h = self.scale * msg @ w.T.to(msg.dtype) + self.lin.bias + self.inj(x)
        if self.bn is not None:
            h = self.bn(h)
        if gate is not None:
            h = h * gate
        return torch.tanh(h)


def setup(scale: float = 0.9, seed: int = 0):
    torch.manual_seed(seed)
    return GraphCell(D, scale), torch.randn(N, D), random_graph(N, E, seed)


def step(deq: nn.Module, x: Tensor, edge_index: Tensor, *args, **kwargs) -> dict[str, Tensor]:
    x = x.clone().requires_grad_()
    out = deq(x, edge_index, *args, **kwargs)
    (out * torch.linspace(-1, 1, out.size(-1))).sin().sum().backward()
    grads = {"out": out.detach(), "x": x.grad}
    grads.update({f"p.{n}": p.grad for n, p in deq.named_parameters()})
    return grads


def unrolled_reference(deq: DEQ, layers: int, *args, **kwargs) -> dict[str, Tensor]:
    """Plain backprop through `layers` weight-tied applications of the same f from z = 0."""
    ref = copy.deepcopy(deq)
    ref.unrolled_layers = layers
    ref.unrolled = True
    ref.zero_grad()
    return step(ref, *args, **kwargs)


@pytest.mark.parametrize("solver", SOLVERS)
def test_implicit_gradients_equal_backprop_through_200_iterations(solver):
    f, x, edge_index = setup(0.95)
    deq = DEQ(f, solver=solver, max_iter=200, tol=1e-6, backward_tol=1e-6)
    got = step(deq, x, edge_index)
    ref = unrolled_reference(deq, 200, x, edge_index)
    assert deq.forward_stats.converged and deq.backward_stats.converged
    assert deq.forward_stats.iterations < 200 and deq.backward_stats.iterations < 200
    assert got.keys() == ref.keys() and len(got) == 6
    errors = {k: rel_err(got[k], ref[k]) for k in ref}
    assert max(errors.values()) <= 1e-4, errors


def test_implicit_gradients_through_a_reversible_block():
    # f = LayerNorm(RevBlock(z + x)): every adjoint iteration back-propagates through the
    # reversible engine (which recomputes the block) with the graph retained.
    torch.manual_seed(0)

    class Conv(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.lin = nn.Linear(c, c)

        def forward(self, h, edge_index, gate=None):
            h = torch.relu(h) if gate is None else torch.relu(h) * gate
            return 0.3 * self.lin(scatter(h[edge_index[0]], edge_index[1], 0, dim_size=N))

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            block = GroupAddRev(Conv(D // 2), num_groups=2)
            self.rev = ReversibleSequential.weight_tied(block, 1)
            self.norm = nn.LayerNorm(D)

        def forward(self, z, x, edge_index, gate):
            return self.norm(self.rev(z + x, edge_index, gate))

    x, edge_index = torch.randn(N, D), random_graph(N, E)
    gate = torch.rand(N, D)  # chunked per group, like a shared dropout mask
    deq = DEQ(Cell(), max_iter=200, tol=1e-6)
    got = step(deq, x, edge_index, gate)
    assert deq.forward_stats.converged and deq.backward_stats.converged
    ref = unrolled_reference(deq, 200, x, edge_index, gate)
    errors = {k: rel_err(got[k], ref[k]) for k in ref}
    assert max(errors.values()) <= 1e-4, errors


@pytest.mark.parametrize("grad", ["implicit", "phantom"])
def test_saved_bytes_do_not_depend_on_solver_iterations(grad):
    f, x, edge_index = setup(0.9)
    saved = {}
    for max_iter in (5, 50):
        deq = DEQ(copy.deepcopy(f), max_iter=max_iter, tol=0.0, grad=grad)
        xx = x.clone().requires_grad_()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out, s = saved_activation_bytes(lambda d=deq, xx=xx: d(xx, edge_index), exclude=[deq])
            assert deq.forward_stats.iterations == max_iter
            out.sum().backward()
        assert deq.grad != "implicit" or deq.backward_stats.iterations == max_iter
        saved[max_iter] = s.total
    assert saved[5] == saved[50] > 0
    # The unrolled weight-tied network, by contrast, keeps every layer.
    unrolled = {}
    for layers in (5, 50):
        deq = DEQ(copy.deepcopy(f), unrolled_layers=layers, unrolled=True)
        xx = x.clone().requires_grad_()
        _, s = saved_activation_bytes(lambda d=deq, xx=xx: d(xx, edge_index), exclude=[deq])
        unrolled[layers] = s.total
    assert unrolled[50] > 8 * unrolled[5]


def test_phantom_gradients_with_5_steps_agree_with_implicit():
    f, x, edge_index = setup(0.9)
    implicit = step(DEQ(copy.deepcopy(f), max_iter=100, tol=1e-6), x, edge_index)
    phantom_deq = DEQ(copy.deepcopy(f), max_iter=100, tol=1e-6, grad="phantom", phantom_steps=5)
    phantom = step(phantom_deq, x, edge_index)
    assert phantom_deq.backward_stats is None
    for key in implicit:
        if key == "out":
            continue
        cos = torch.nn.functional.cosine_similarity(
            phantom[key].flatten(), implicit[key].flatten(), dim=0
        )
        assert cos >= 0.99, (key, cos.item())
    # One phantom step from z* is not enough to be within 5%: the test can fail.
    one = step(
        DEQ(copy.deepcopy(f), max_iter=100, tol=1e-6, grad="phantom", phantom_steps=1),
        x,
        edge_index,
    )
    assert rel_err(one["x"], implicit["x"]) > 0.05 > rel_err(phantom["x"], implicit["x"])


@pytest.mark.parametrize("solver", SOLVERS)
def test_expansive_f_gives_finite_gradients_warns_once_and_records(solver):
    f, x, edge_index = setup(25.0)
    deq = DEQ(f, solver=solver, max_iter=15, tol=1e-6)
    with pytest.warns(ConvergenceWarning) as record:
        grads = step(deq, x, edge_index)
    messages = [str(w.message) for w in record]
    assert any(m.startswith(f"DEQ forward solve ({solver}) did not converge") for m in messages)
    assert any(m.startswith(f"DEQ adjoint (backward) solve ({solver})") for m in messages)
    assert all("shown once per layer" in m for m in messages)
    # Attributed to the caller's lines (its forward call and its backward), not to torch's
    # Module.__call__ or to revgnn's autograd Function.
    assert {w.filename for w in record if w.category is ConvergenceWarning} == {__file__}
    for key, g in grads.items():
        assert g is not None and torch.isfinite(g).all(), key
    assert not deq.forward_stats.converged and not deq.backward_stats.converged
    assert deq.forward_stats.best_residual == min(deq.forward_stats.residuals)
    # Warned once per run: a second step records the failure but does not warn again.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        step(deq, x, edge_index)
    metrics = deq.metrics()
    assert metrics["forward_unconverged_total"] == 2 == metrics["backward_unconverged_total"]
    assert metrics["forward_converged"] == 0.0 and metrics["forward_iterations"] == 15


def test_non_finite_input_raises():
    f, x, edge_index = setup()
    deq = DEQ(f)
    bad = x.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(
        ValueError, match=r"DEQ input x has 1 NaN or inf entries of 240 \(first in row 3\)"
    ):
        deq(bad, edge_index)
    gate = torch.ones(N, D)
    gate[0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"DEQ input gate has 1 NaN or inf entries"):
        deq(x, edge_index, gate=gate)
    assert deq.forward_stats is None  # nothing ran


def test_batchnorm_statistics_updated_once_per_step():
    torch.manual_seed(0)
    f = GraphCell(D, 0.5, batch_norm=True)
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    deq = DEQ(f, max_iter=40, tol=1e-6)
    step(deq, x, edge_index)
    assert deq.forward_stats.iterations > 5
    assert f.bn.num_batches_tracked.item() == 1
    # The statistics are those of the one tracked application at the equilibrium.
    ref = copy.deepcopy(f)
    ref.bn.reset_running_stats()
    with torch.no_grad():
        z = torch.zeros(N, D)
        for _ in range(200):
            z = ref(z, x, edge_index)
    ref.bn.reset_running_stats()
    with torch.no_grad():
        ref(z, x, edge_index)
    assert rel_err(f.bn.running_mean, ref.bn.running_mean) <= 1e-4


def test_bf16_autocast_solver_state_stays_float32():
    f, x, edge_index = setup(0.9)
    dtypes, inner = [], []

    class Probe(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.f = f

        def forward(self, z, x, edge_index):
            dtypes.append(z.dtype)
            inner.append(self.f.inj(x).dtype)  # f itself runs under autocast
            return self.f(z, x, edge_index)

    deq = DEQ(Probe(), max_iter=60, tol=1e-2)
    xx = x.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = deq(xx, edge_index)
    out.float().square().sum().backward()
    assert set(dtypes) == {torch.float32} and set(inner) == {torch.bfloat16}
    assert deq.forward_stats.converged and deq.backward_stats.converged
    assert torch.isfinite(xx.grad).all()
    for p in deq.parameters():
        assert torch.isfinite(p.grad).all()
    # The same step in float32 without autocast: equal up to bf16 rounding.
    x32 = x.clone().requires_grad_()
    DEQ(copy.deepcopy(f), max_iter=100, tol=1e-6)(x32, edge_index).square().sum().backward()
    assert rel_err(xx.grad, x32.grad) <= 0.05


def test_jacobian_regularizer_gradient_is_added_to_the_loss():
    f, x, edge_index = setup(0.9)
    weight = 0.7
    plain = DEQ(copy.deepcopy(f), max_iter=100, tol=1e-6)
    reg = DEQ(copy.deepcopy(f), max_iter=100, tol=1e-6, jac_reg_weight=weight)
    base = step(plain, x, edge_index)
    torch.manual_seed(5)
    got = step(reg, x, edge_index)
    assert reg.jac_loss is not None and reg.metrics()["jac_loss"] == reg.jac_loss
    # Reference: d/dtheta of the regulariser at the same equilibrium with the same probe.
    ref_f = copy.deepcopy(f)
    z = torch.zeros(N, D)
    with torch.no_grad():
        for _ in range(300):
            z = ref_f(z, x, edge_index)
    z.requires_grad_()
    torch.manual_seed(5)
    jac = jacobian_regularizer(ref_f(z, x, edge_index), z)
    assert jac.item() == pytest.approx(reg.jac_loss, rel=1e-4)
    jac_grads = torch.autograd.grad(weight * jac, list(ref_f.parameters()), allow_unused=True)
    for (name, _), g in zip(ref_f.named_parameters(), jac_grads):
        key = f"p.f.{name}"
        extra = got[key] - base[key]
        expected = g if g is not None else torch.zeros_like(extra)
        assert (extra - expected).norm() <= 1e-4 * (1 + expected.norm()), name


def test_unrolled_mode_is_the_weight_tied_network():
    f, x, edge_index = setup(0.9)
    deq = DEQ(f, unrolled_layers=4, unrolled=True)
    z = torch.zeros(N, D)
    for _ in range(4):
        z = f(z, x, edge_index)
    assert torch.equal(deq(x, edge_index), z)
    deq.unrolled = False
    with torch.no_grad():
        out = deq(x, edge_index)
    assert out.grad_fn is None and deq.forward_stats is not None
    with pytest.raises(ValueError, match="unrolled mode needs unrolled_layers"):
        DEQ(f, unrolled=True)


def test_eval_without_grad_builds_no_graph_and_is_deterministic():
    f, x, edge_index = setup(0.9)
    deq = DEQ(f, max_iter=100, tol=1e-6).eval()
    with torch.no_grad():
        a, b = deq(x, edge_index), deq(x, edge_index)
    assert a.grad_fn is None and torch.equal(a, b)
    assert rel_err(f(a, x, edge_index), a) <= 1e-5


def test_second_backward_with_retain_graph_gives_the_same_gradients():
    f, x, edge_index = setup(0.9)
    deq = DEQ(f, max_iter=100, tol=1e-6)
    xx = x.clone().requires_grad_()
    out = deq(xx, edge_index)
    out.square().sum().backward(retain_graph=True)
    first = xx.grad.clone()
    xx.grad = None
    out.square().sum().backward()
    assert torch.equal(first, xx.grad)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"solver": "nope"}, "solver='nope' is not one of anderson, broyden"),
        ({"backward_solver": "nope"}, "backward_solver='nope' is not one of anderson, broyden"),
        ({"grad": "exact"}, "grad='exact' is not one of implicit, phantom"),
        ({"stop_mode": "max"}, "stop_mode='max' is not one of"),
        ({"max_iter": 0}, "max_iter=0 must be at least 1"),
        ({"backward_max_iter": 0}, "backward_max_iter=0 must be at least 1"),
        ({"tol": -1.0}, "tol=-1.0 must be non-negative"),
        ({"phantom_steps": 0}, "phantom_steps=0 must be at least 1"),
        ({"phantom_tau": 0.0}, r"phantom_tau=0.0 must lie in \(0, 1\]"),
        ({"unrolled_layers": 0}, "unrolled_layers=0 must be at least 1"),
        ({"jac_reg_weight": -1.0}, "jac_reg_weight=-1.0 must be non-negative"),
        ({"jac_reg_samples": 0}, "jac_reg_samples=0 must be at least 1"),
        ({"jac_reg_weight": 0.1, "grad": "phantom"}, "jac_reg_weight=0.1 needs grad='implicit'"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DEQ(GraphCell(D, 0.5), **kwargs)


def test_repr_names_the_settings():
    text = repr(DEQ(GraphCell(D, 0.5), solver="broyden", grad="phantom", unrolled_layers=3))
    assert "solver='broyden'" in text and "phantom_steps=5" in text
    assert "unrolled_layers=3" in text and "GraphCell" in text
