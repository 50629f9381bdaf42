import copy
import warnings

import pytest
import torch

from revgnn.nn.conv.registry import CONVS
from revgnn.utils import AutocastState, autocast_disabled
from revgnn.utils.autocast import compute_dtype


def test_captured_state_is_reentered_and_can_be_switched_off():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        state = AutocastState.capture(torch.device("cpu"))
        with autocast_disabled(["cpu"]):
            assert (a @ b).dtype == torch.float32
    assert state.enabled == (True,) and state.dtypes == (torch.bfloat16,)
    assert (a @ b).dtype == torch.float32  # outside: off
    with state.enter():
        assert (a @ b).dtype == torch.bfloat16
    off = AutocastState.capture(torch.device("cpu"))
    with off.enter():
        assert (a @ b).dtype == torch.float32


# The AMP matrix: every registered conv x {fp32, bf16, fp16 with a GradScaler} x {reversible,
# not} x {edge_index, sparse adjacency}: one training step runs, and the reversible gradients
# equal those of the non-reversible run in the same precision.
_PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
_N, _F, _H, _C = 30, 6, 8, 3


def _graph():
    from torch_geometric.utils import to_undirected

    g = torch.Generator().manual_seed(0)
    edge_index = to_undirected(torch.randint(0, _N, (2, 90), generator=g), num_nodes=_N)
    return torch.randn(_N, _F, generator=g), edge_index, torch.randint(0, _C, (_N,), generator=g)


def _step(model, x, adj, y, dtype):
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8, enabled=dtype is torch.float16)
    torch.manual_seed(7)
    with torch.autocast("cpu", dtype=dtype or torch.float32, enabled=dtype is not None):
        out = model(x, adj)
    loss = torch.nn.functional.cross_entropy(out.float(), y)
    scaler.scale(loss).backward()
    return out, {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("adjacency", ["edge_index", "sparse"])
@pytest.mark.parametrize("precision", list(_PRECISIONS))
@pytest.mark.parametrize("conv", CONVS.names())
def test_every_conv_trains_in_every_precision_with_exact_reversible_gradients(
    conv, precision, adjacency
):
    from torch_geometric.utils import to_torch_csr_tensor

    from tests.helpers import rel_err, rev_gnn

    x, edge_index, y = _graph()
    adj = edge_index if adjacency == "edge_index" else to_torch_csr_tensor(edge_index)
    torch.manual_seed(0)
    rev = rev_gnn(_F, _H, _C, 3, conv=conv, norm="batch", dropout=0.2)
    plain = copy.deepcopy(rev)
    plain.reversible = False
    dtype = _PRECISIONS[precision]
    out_rev, g_rev = _step(rev, x, adj, y, dtype)
    out_plain, g_plain = _step(plain, x, adj, y, dtype)
    assert torch.isfinite(out_rev).all()
    # Both runs round the same way; the reversible one rebuilds its inputs exactly.
    tol = 1e-5 if dtype is None else 1e-2
    assert rel_err(out_rev.float(), out_plain.float()) < tol
    for name, g in g_rev.items():
        assert g is not None and torch.isfinite(g).all(), name
        assert rel_err(g, g_plain[name]) < tol, (name, rel_err(g, g_plain[name]))


def test_compute_dtype_is_fp32_for_half_input_only_under_autocast():
    for dtype in (torch.bfloat16, torch.float16):
        x = torch.zeros(2, dtype=dtype)
        assert compute_dtype(x) == dtype  # a model cast to it
        with torch.autocast("cpu", dtype=dtype):
            assert compute_dtype(x) == torch.float32  # autocast casts inside the layers
    for dtype in (torch.float32, torch.float64):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert compute_dtype(torch.zeros(2, dtype=dtype)) == dtype


def test_a_conv_over_a_sparse_adjacency_runs_in_fp32_and_says_so_once(monkeypatch):
    from torch_geometric.utils import to_torch_csr_tensor

    from revgnn.utils import autocast as autocast_module
    from revgnn.utils.autocast import call_conv

    monkeypatch.setattr(autocast_module, "_FP32_CONVS", set())
    x, edge_index, _ = _graph()
    conv = CONVS.build("gcn", _F, _H, None)
    adj = to_torch_csr_tensor(edge_index, size=(_N, _N))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with pytest.warns(UserWarning, match="autocast: GCNConv propagates over a sparse adj"):
            out = call_conv(conv, x, adj)
        assert out.dtype == torch.float32
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            call_conv(conv, x, adj)  # once per conv class
            call_conv(conv, x, edge_index)  # an edge index: autocast applies, nothing to say
