import copy

import pytest
import torch
from torch_geometric.nn import DeepGCNLayer as PyGDeepGCNLayer
from torch_geometric.nn import GENConv, LayerNorm

from revgnn.nn import DeepGCNLayer
from tests.helpers import rel_err

X = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
EDGES = torch.tensor([[0, 1, 1, 2, 3, 5], [1, 0, 2, 1, 4, 4]])
EDGE_ATTR = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("block", ["res+", "res", "dense", "plain"])
def test_computes_pygs_layer_and_passes_positional_arguments(block):
    torch.manual_seed(0)
    conv, norm = GENConv(8, 8), LayerNorm(8)
    ours = DeepGCNLayer(copy.deepcopy(conv), copy.deepcopy(norm), "relu", block, dropout=0.0)
    theirs = PyGDeepGCNLayer(conv, norm, torch.nn.ReLU(), block, dropout=0.0)
    assert repr(ours) == f"DeepGCNLayer(block={block})" == repr(theirs)
    out = ours(X, EDGES, EDGE_ATTR)  # edge_attr positional, as PyG's proteins example
    assert out.shape == (6, 16 if block == "dense" else 8)
    assert rel_err(out, theirs(X, EDGES, EDGE_ATTR)) < 1e-6


def test_checkpointed_gradients_equal_the_plain_ones_and_errors_are_named():
    torch.manual_seed(0)
    plain = DeepGCNLayer(GENConv(8, 8), LayerNorm(8), "relu", "res+")
    ckpt = copy.deepcopy(plain)
    ckpt.ckpt_grad = True
    grads = []
    for layer in (plain, ckpt):
        x = X.clone().requires_grad_()
        layer(x, EDGES).square().sum().backward()
        grads.append([x.grad, *(p.grad for p in layer.parameters())])
    assert all(rel_err(a, b) < 1e-6 for a, b in zip(*grads))
    DeepGCNLayer(norm=None).reset_parameters()  # PyG's would fail on norm=None
    with pytest.raises(ValueError, match="block='resnet' is not one of res\\+, res, dense, plain"):
        DeepGCNLayer(block="resnet")
