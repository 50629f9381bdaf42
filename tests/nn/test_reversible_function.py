import pytest
import torch

from revgnn.nn import GroupAddRev, ReversibleSequential
from revgnn.nn.reversible_function import ReversibleBackward, inverse_stack, reconstruction_error
from tests.helpers import random_graph
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
