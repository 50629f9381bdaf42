"""PyG's ``examples/rev_gnn.py`` model with revgnn's ``GroupAddRev`` imported instead.

``GNNBlock`` and ``RevGNN`` are PyG's, verbatim (see SOURCE.md); the example stacks its blocks
in a Python loop, which revgnn's blocks run with one stream between them.
"""

import torch
import torch.nn.functional as F
from torch.nn import LayerNorm, Linear
from torch_geometric.nn import SAGEConv

from revgnn.memory import saved_activation_bytes
from revgnn.nn import GroupAddRev
from tests.helpers import random_graph, rel_err


class GNNBlock(torch.nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.norm = LayerNorm(in_channels, elementwise_affine=True)
        self.conv = SAGEConv(in_channels, out_channels)

    def reset_parameters(self):
        self.norm.reset_parameters()
        self.conv.reset_parameters()

    def forward(self, x, edge_index, dropout_mask=None):
        x = self.norm(x).relu()
        if self.training and dropout_mask is not None:
            x = x * dropout_mask
        return self.conv(x, edge_index)


class RevGNN(torch.nn.Module):
    def __init__(self, in_channels, hidden_channels, out_channels, num_layers,
                 dropout, num_groups=2):
        super().__init__()

        self.dropout = dropout

        self.lin1 = Linear(in_channels, hidden_channels)
        self.lin2 = Linear(hidden_channels, out_channels)
        self.norm = LayerNorm(hidden_channels, elementwise_affine=True)

        assert hidden_channels % num_groups == 0
        self.convs = torch.nn.ModuleList()
        for _ in range(num_layers):
            conv = GNNBlock(
                hidden_channels // num_groups,
                hidden_channels // num_groups,
            )
            self.convs.append(GroupAddRev(conv, num_groups=num_groups))

    def reset_parameters(self):
        self.lin1.reset_parameters()
        self.lin2.reset_parameters()
        self.norm.reset_parameters()
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, x, edge_index):
        x = self.lin1(x)

        # Generate a dropout mask which will be shared across GNN blocks:
        mask = None
        if self.training and self.dropout > 0:
            mask = torch.zeros_like(x).bernoulli_(1 - self.dropout)
            mask = mask.requires_grad_(False)
            mask = mask / (1 - self.dropout)

        for conv in self.convs:
            x = conv(x, edge_index, mask)
        x = self.norm(x).relu()
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.lin2(x)


N = 40


def example(num_layers):  # the example's sizes, scaled down
    torch.manual_seed(0)
    return RevGNN(16, 32, 4, num_layers, dropout=0.5, num_groups=2)


def test_the_examples_loop_keeps_memory_flat_in_depth():
    x, edge_index = torch.randn(N, 16), random_graph(N, 160)
    saved = {}
    for num_layers in (2, 12):
        model = example(num_layers)
        _, s = saved_activation_bytes(lambda m=model: m(x, edge_index), exclude=[model])
        saved[num_layers] = s.total
    assert saved[12] == saved[2]


def test_the_examples_gradients_equal_the_non_reversible_runs():
    model, edge_index = example(6), random_graph(N, 160)
    x, y = torch.randn(N, 16), torch.randint(0, 4, (N,))
    grads = {}
    for reversible in (True, False):
        for conv in model.convs:
            conv.reversible = reversible
        torch.manual_seed(1)  # the same dropout masks
        F.cross_entropy(model(x, edge_index), y).backward()
        grads[reversible] = [p.grad.clone() for p in model.parameters()]
        model.zero_grad()
    for g, ref in zip(grads[True], grads[False]):
        assert rel_err(g, ref) < 1e-5
