import copy

import pytest
import torch
from torch import nn

from revgnn import GroupAddRev
from revgnn.nn import PreActConv
from revgnn.nn.rev_stack import RevStack
from revgnn.nn.reversible_function import reconstruction_error
from tests.helpers import random_graph, rel_err, rev_gnn


class Lin(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.lin = nn.Linear(c, c)

    def forward(self, x, edge_index):
        return self.lin(x).tanh()


def test_snapshots_are_taken_every_k_blocks_and_bound_the_drift():
    blocks = [GroupAddRev(Lin(4), num_groups=2) for _ in range(9)]
    x = torch.randn(3, 8)
    stack = RevStack(blocks, x, None, [], {}, torch.float32, snapshot_every=4)
    assert stack.snapshot_layers() == [4, 8]
    assert RevStack(blocks, x, None, [], {}, torch.float32).snapshot_layers() == []
    # With a snapshot at every block only the first block's inverse is left to drift.
    every = reconstruction_error(blocks, x, None, [], {}, torch.float32, snapshot_every=1)
    first = reconstruction_error(blocks[:1], x, None, [], {}, torch.float32)
    assert every == first < reconstruction_error(blocks, x, None, [], {}, torch.float32)


def test_input_checks():
    block = GroupAddRev(Lin(4), num_groups=2)
    with pytest.raises(ValueError, match=r"x must have shape \[num_nodes, channels\]"):
        RevStack([block], torch.randn(8), None, [], {}, torch.float64)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        RevStack([block], torch.ones(3, 8, dtype=torch.long), None, [], {}, torch.float64)


@pytest.mark.parametrize("weight_tied", [False, True])
@pytest.mark.parametrize("damping", [0.0, 0.25])
@pytest.mark.parametrize("shared_dropout", [False, True])
def test_gcnii_blocks_take_their_explicit_backward(weight_tied, damping, shared_dropout,
                                                   monkeypatch):  # fmt: skip
    # The default recipe's blocks are rebuilt without autograd recording them: the same
    # gradients as autograd's path and as the plain run, every group call explicit.
    torch.manual_seed(0)
    rev = rev_gnn(12, 16, 3, num_layers=6, conv="gcnii", norm=None, stream_init="zero",
                  branch_scale=0.25, damping=damping, dropout=0.3, weight_tied=weight_tied,
                  shared_dropout=shared_dropout)  # fmt: skip
    x, edge_index = torch.randn(40, 12), random_graph(40, 160)
    explicit_vjp = PreActConv.explicit_vjp
    served = []

    def spy(self, *args, **kwargs):
        out = explicit_vjp(self, *args, **kwargs)
        served.append(out is not None)
        return out

    def step(model):
        model.zero_grad()
        torch.manual_seed(7)
        out = model(x, edge_index)
        out.square().mean().backward()
        return out, [p.grad.clone() for p in model.parameters()]

    monkeypatch.setattr(PreActConv, "explicit_vjp", spy)
    out, grads = step(rev)
    assert len(served) == 6 * 2 and all(served)  # every group of every block, once
    plain = copy.deepcopy(rev)
    plain.reversible = False
    plain_out, plain_grads = step(plain)
    assert torch.equal(out, plain_out)
    monkeypatch.setattr(PreActConv, "explicit_vjp", lambda self, *a, **k: None)
    autograd_out, autograd_grads = step(rev)
    assert torch.equal(out, autograd_out)
    for g, p, a in zip(grads, plain_grads, autograd_grads, strict=True):
        assert rel_err(g, p) < 1e-5 and rel_err(g, a) < 1e-6
