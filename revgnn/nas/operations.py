r"""The search space of SGAS (Li, Qian, Delgadillo, Müller, Thabet, Ghanem, CVPR 2020): ten
operations from :math:`C` to :math:`C` channels on a graph.

Every operation is called as ``op(x, edge_index)`` on node features :math:`(n, C)` (point
clouds flattened, their k-NN graph as an ``edge_index``); the convolutions apply ReLU then
BatchNorm, without bias, as the reference's.

===============  ==================================================================
``none``         zero (an edge that contributes nothing)
``skip_connect`` identity
``conv_1x1``     :math:`\mathrm{BN}(\mathrm{ReLU}(W x_i))`, per node
``edge_conv``    EdgeConv, :math:`\max_j h([x_i, x_j - x_i])`
``mr_conv``      MRConv, :math:`h([x_i, \max_j (x_j - x_i)])`
``gat``          GAT (one head)
``semi_gcn``     GCN (symmetric normalisation, self-loops)
``point_gin``    GIN, :math:`h((1 + \epsilon) x_i + \sum_j x_j)` (SGAS's ``gin``)
``point_sage``   GraphSAGE with max pooling, :math:`h([x_i, \max_j g(x_j)])` (SGAS's ``sage``)
``rel_sage``     relative GraphSAGE, :math:`\| h([x_i, \max_j g(x_j - x_i)]) \|`-normalised
===============  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GCNConv
from torch_geometric.utils import scatter

from revgnn.nn.conv.edge_conv import EdgeConv
from revgnn.nn.conv.gat_conv import LeanGATConv
from revgnn.nn.conv.mr_conv import MRConv
from revgnn.nn.conv.point_gin_conv import PointGINConv
from revgnn.nn.conv.point_sage_conv import PointSAGEConv
from revgnn.nn.point_mlp import PointMLP
from revgnn.utils.registry import Registry

__all__ = ["OPS", "PRIMITIVES", "RelSAGE", "make_op"]


class Zero(nn.Module):
    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return x.mul(0.0)


class Identity(nn.Module):
    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return x


class PointWise(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.mlp = PointMLP([channels, channels], "relu", "batch", bias=False)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.mlp(x)


class PyGOp(nn.Module):
    """A PyG conv followed by ReLU and BatchNorm."""

    def __init__(self, conv: nn.Module, channels: int) -> None:
        super().__init__()
        self.conv = conv
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.bn(F.relu(self.conv(x, edge_index)))


class RelSAGE(nn.Module):
    r"""Relative GraphSAGE (the reference's ``rel_sage``):
    :math:`x_i' = \hat{x}_i / \|\hat{x}_i\|_2`, :math:`\hat{x}_i = h([x_i, \max_j
    g(x_j - x_i)]) + b`, :math:`g, h` Linear + ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.pre = PointMLP([channels, channels], "relu", None, bias=False)
        self.post = PointMLP([2 * channels, channels], "relu", None, bias=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        j, i = edge_index
        pooled = scatter(self.pre(x[j] - x[i]), i, dim=0, dim_size=x.size(0), reduce="max")
        return F.normalize(self.post(torch.cat([x, pooled], dim=-1)) + self.bias, dim=-1)


#: Operation builders by name, ``builder(channels) -> module``, in the order of the
#: architecture weights (``none`` first, as SGAS's criteria read it). Names share the
#: operator namespace of the conv registries: SGAS's ``gin`` and ``sage`` (the DeepGCN GIN
#: and max-pool GraphSAGE) are ``point_gin`` and ``point_sage`` here, as in
#: :data:`~revgnn.nn.conv.point_conv.POINT_CONVS`.
OPS: Registry[Callable[[int], nn.Module]] = Registry(
    "search operation", arg="operation", operators=True
)
for _name, _build, _operator in (
    ("none", lambda c: Zero(), Zero),
    ("skip_connect", lambda c: Identity(), Identity),
    ("conv_1x1", PointWise, PointWise),
    ("edge_conv", lambda c: EdgeConv(c, c, "relu", "batch", bias=False), EdgeConv),
    ("mr_conv", lambda c: MRConv(c, c, "relu", "batch", bias=False), MRConv),
    ("gat", lambda c: PyGOp(LeanGATConv(c, c, bias=False), c), LeanGATConv),
    ("semi_gcn", lambda c: PyGOp(GCNConv(c, c, bias=False), c), GCNConv),
    ("point_gin", lambda c: PointGINConv(c, c, "relu", "batch", bias=False), PointGINConv),
    ("point_sage", lambda c: PointSAGEConv(c, c, "relu", "batch", bias=False), PointSAGEConv),
    ("rel_sage", RelSAGE, RelSAGE),
):
    OPS.add(_name, _build, operator=_operator)
PRIMITIVES = tuple(OPS)


def make_op(name: str, channels: int) -> nn.Module:
    """The operation ``name`` on ``channels`` channels."""
    return OPS[name](channels)
