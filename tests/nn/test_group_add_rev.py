"""The defects of PyG's ``GroupAddRev`` (docs/peer_defects.md), checked on revgnn and on PyG.

The PyG runs are strict expected failures: they show that each check detects the peer's
defect (a check that passes on the peer's behaviour would prove nothing).
"""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
import torch_geometric.nn as pyg_nn
from torch import Tensor, nn

from revgnn import GroupAddRev
from tests.helpers import random_graph, rel_err
from tests.nn.test_reversible_sequential import MeanConv

N, D, E = 30, 12, 120
PYG_DEFECT = pytest.mark.xfail(strict=True, reason="PyG GroupAddRev defect (docs/peer_defects.md)")
IMPLS = ["revgnn", pytest.param("pyg", marks=PYG_DEFECT)]


def build(impl: str, conv: nn.Module) -> tuple[nn.Module, nn.Module]:
    """A reversible 2-group block and a copy with the same weights run by plain autograd."""
    torch.manual_seed(0)
    if impl == "revgnn":
        rev = GroupAddRev(conv, num_groups=2)
        plain = copy.deepcopy(rev)
        plain.reversible = False
    else:
        rev = pyg_nn.GroupAddRev(conv, num_groups=2)
        plain = copy.deepcopy(rev)
        plain.disable = True
    return rev, plain


def grads(block: nn.Module, x: Tensor, edge_index: Tensor, bf16: bool = False) -> list[Tensor]:
    x = x.clone().requires_grad_()
    torch.manual_seed(3)
    # As torch.amp recommends, only the forward runs under autocast.
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = block(x, edge_index)
    out.float().sin().sum().backward()
    return [x.grad, *(p.grad for p in block.parameters())]


@pytest.mark.parametrize("impl", IMPLS)
def test_ordinary_dropout_gives_the_plain_gradients(impl):
    rev, plain = build(impl, MeanConv(D // 2, dropout=0.5))
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    for got, ref in zip(grads(rev, x, edge_index), grads(plain, x, edge_index)):
        assert rel_err(got, ref) < 1e-5


@pytest.mark.parametrize("impl", IMPLS)
def test_batchnorm_statistics_updated_once_per_step(impl):
    rev, plain = build(impl, MeanConv(D // 2, dropout=0.0))
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    grads(rev, x, edge_index)
    grads(plain, x, edge_index)
    for got, ref in zip(rev.buffers(), plain.buffers()):
        assert torch.equal(got, ref)


@pytest.mark.parametrize("impl", IMPLS)
def test_bf16_autocast_step_matches_plain(impl):
    rev, plain = build(impl, MeanConv(D // 2, dropout=0.0))
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    for got, ref in zip(grads(rev, x, edge_index, True), grads(plain, x, edge_index, True)):
        assert rel_err(got, ref) < 1e-4


@pytest.mark.parametrize("impl", IMPLS)
def test_keyword_arguments_are_passed_through(impl):
    rev, plain = build(impl, MeanConv(D // 2, dropout=0.0))
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    scale = torch.rand(N, 1)
    out = rev(x, edge_index, scale=scale)
    assert torch.allclose(out, plain(x, edge_index, scale=scale), atol=1e-6)


@pytest.mark.parametrize("impl", IMPLS)
def test_second_backward_with_retain_graph(impl):
    rev, _ = build(impl, MeanConv(D // 2, dropout=0.0))
    x = torch.randn(N, D, requires_grad=True)
    out = rev(x, random_graph(N, E)).sum()
    out.backward(retain_graph=True)
    first = x.grad.clone()
    out.backward()
    assert torch.allclose(x.grad, 2 * first, rtol=1e-5, atol=1e-6)


CALLER_SCRIPT = """
import sys
import torch
from torch_geometric.nn import GENConv
from torch_geometric.nn import GroupAddRev as PygGroupAddRev
from revgnn import GroupAddRev, PreActConv, ReversibleSequential

torch.manual_seed(0)
x = torch.randn(20, 8)
edge_index = torch.randint(0, 20, (2, 60))
before = x.clone()
if sys.argv[1] == "revgnn":
    model = ReversibleSequential(
        [GroupAddRev(PreActConv(GENConv(4, 4), 4), num_groups=2) for _ in range(3)]
    )
    run = lambda h: model(h, edge_index, None)
else:
    blocks = [PygGroupAddRev(GENConv(4, 4), num_groups=2) for _ in range(3)]
    def run(h):
        for block in blocks:
            h = block(h, edge_index)
        return h
with torch.no_grad():
    run(x)
assert torch.equal(x, before)
h = x.clone().requires_grad_()
out = run(h)
out.sum().backward()
assert torch.isfinite(out).all() and torch.equal(h.detach(), before)
print("SAFE")
"""


@pytest.mark.parametrize("impl", IMPLS)
def test_caller_tensors_are_never_freed(impl):
    proc = subprocess.run(
        [sys.executable, "-c", CALLER_SCRIPT, impl], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SAFE" in proc.stdout


def test_pygs_positional_arguments_build_pygs_block():
    """``GroupAddRev(conv, split_dim, num_groups)``, PyG's order: the same groups and outputs
    as PyG's block built by the same call; other split dimensions are refused by name."""
    x, edge_index = torch.randn(N, D), random_graph(N, E)
    torch.manual_seed(0)
    ours = GroupAddRev(pyg_nn.SAGEConv(D // 2, D // 2), -1, 2)
    torch.manual_seed(0)
    theirs = pyg_nn.GroupAddRev(pyg_nn.SAGEConv(D // 2, D // 2), -1, 2)
    assert ours.num_groups == 2
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b)
    with torch.no_grad():
        assert rel_err(ours(x, edge_index), theirs(x.clone(), edge_index)) < 1e-6
    assert GroupAddRev(pyg_nn.SAGEConv(6, 6), 1, 2).num_groups == 2
    with pytest.raises(ValueError, match=r"split_dim=0 is not supported.*split_dim=-1"):
        GroupAddRev(pyg_nn.SAGEConv(6, 6), 0, 2)
