"""PyG's convolutions as registered operators: GAT, GraphSAGE, GCN, GCNII, GIN / GINE.

Each builder maps ``in_channels`` to ``out_channels`` features (Veličković et al., ICLR 2018;
Hamilton et al., NeurIPS 2017; Kipf and Welling, ICLR 2017; Xu et al., ICLR 2019; Hu et al.,
ICLR 2020 for GINE).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch_geometric.nn import GCN2Conv as PyGGCN2Conv
from torch_geometric.nn import GCNConv as PyGGCNConv
from torch_geometric.nn import GINConv, GINEConv, SAGEConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor

from revgnn.nn.conv.gat_conv import LeanGATConv
from revgnn.nn.conv.propagate_hooks import OwnPropagate, needs_propagate
from revgnn.nn.conv.registry import register_conv
from revgnn.nn.norm import norm_layer
from revgnn.nn.spmm import int32_csr, sparse_dtype, sparse_mm, spmm, transposed
from revgnn.utils.checks import check_probability, is_sparse_adjacency
from revgnn.utils.sparse import edge_list, quiet_csr
from revgnn.utils.tensor_cache import per_tensor

__all__ = ["GCN2Conv", "GCNConv", "GCNIIConv", "gat", "gcn", "gcn_prepare", "gcnii", "gin", "sage"]


class _CachedTranspose:
    """Propagation over a CSR ``adj_t`` by :func:`revgnn.nn.spmm.spmm`, whose backward pass
    reuses the adjacency's transpose (``torch.sparse.mm`` rebuilds it, with a sort, in every
    call). Over a prepared CSR adjacency (``normalize=False``, no hooks, not explaining) the
    forward pass calls it directly instead of PyG's ``propagate``, whose input collection
    took about 17 µs a call (a 64-block GCNII model calls it 384 times an epoch)."""

    aggr: Any
    normalize: bool
    # PyG generates ``propagate`` from this (its comment in the parent's source is not seen).
    propagate_type = {"x": Tensor, "edge_weight": Optional[Tensor]}  # noqa: RUF012, UP045

    def message_and_aggregate(self, adj_t: Any, x: Tensor) -> Tensor:
        if isinstance(adj_t, Tensor) and adj_t.layout == torch.sparse_csr and self.aggr == "add":
            return spmm(adj_t, x)
        return super().message_and_aggregate(adj_t, x)  # type: ignore[misc]

    def _direct(self, adj_t: Any, edge_weight: Tensor | None) -> bool:
        """Whether propagating over ``adj_t`` may skip PyG's ``propagate``: a CSR adjacency
        (its values are the weights) that the conv does not normalise, with nothing of PyG's
        that runs inside ``propagate`` (:func:`~revgnn.nn.conv.propagate_hooks.needs_propagate`)."""
        return (
            isinstance(adj_t, Tensor)
            and adj_t.layout == torch.sparse_csr
            and edge_weight is None
            and self.aggr == "add"
            and not self.normalize
            and not needs_propagate(self)  # type: ignore[arg-type]
        )


class GCNConv(OwnPropagate, _CachedTranspose, PyGGCNConv):
    """PyG's :class:`~torch_geometric.nn.conv.GCNConv`, the same values and gradients, its
    backward pass over a CSR adjacency without rebuilding the transpose."""

    def forward(self, x: Any, edge_index: Any, edge_weight: Tensor | None = None) -> Tensor:
        if not (isinstance(x, Tensor) and self._direct(edge_index, edge_weight)):
            return super().forward(x, edge_index, edge_weight)
        out = spmm(edge_index, self.lin(x))  # PyG's order: transform, propagate, bias
        return out if self.bias is None else out + self.bias


class GCN2Conv(OwnPropagate, _CachedTranspose, PyGGCN2Conv):
    """PyG's :class:`~torch_geometric.nn.conv.GCN2Conv`, the same values and gradients, its
    backward pass over a CSR adjacency without rebuilding the transpose."""

    def forward(
        self, x: Tensor, x_0: Tensor, edge_index: Any, edge_weight: Tensor | None = None
    ) -> Tensor:
        if not self._direct(edge_index, edge_weight):
            return super().forward(x, x_0, edge_index, edge_weight)
        # PyG's arithmetic, operation for operation: the same bits.
        if self.weight2 is None:
            out = self._mixed(x, x_0, edge_index)
            return torch.addmm(out, out, self.weight1, beta=1.0 - self.beta, alpha=self.beta)
        x = spmm(edge_index, x)
        x.mul_(1 - self.alpha)
        x_0 = self.alpha * x_0[: x.size(0)]
        out = torch.addmm(x, x, self.weight1, beta=1.0 - self.beta, alpha=self.beta)
        return out + torch.addmm(x_0, x_0, self.weight2, beta=1.0 - self.beta, alpha=self.beta)

    def _mixed(self, x: Tensor, x_0: Tensor, adj_t: Tensor) -> Tensor:
        r""":math:`(1 - \alpha) \hat{P} x + \alpha x_0`, PyG's operations in PyG's order."""
        x = spmm(adj_t, x)
        x.mul_(1 - self.alpha)
        return x.add_(self.alpha * x_0[: x.size(0)])

    def explicit_supported(self, x: Tensor, x_0: Tensor, adj_t: Any) -> bool:
        """Whether :meth:`explicit_forward` serves this call: the direct path with shared
        weights (``weight2 is None``) and one initial row per node."""
        return self.weight2 is None and self._direct(adj_t, None) and x_0.size(0) == x.size(0)

    def explicit_forward(self, x: Tensor, x_0: Tensor, adj_t: Tensor) -> tuple[Tensor, Tensor]:
        """The forward pass without autograd, the same bits as :meth:`forward`, and what
        :meth:`explicit_backward` needs: the mixed input :math:`u`."""
        with torch.no_grad():
            u = self._mixed(x, x_0, adj_t)
            return torch.addmm(u, u, self.weight1, beta=1.0 - self.beta, alpha=self.beta), u

    def explicit_backward(
        self, u: Tensor, grad: Tensor, adj_t: Tensor, want_x_0: bool, scale: float = 1.0
    ) -> tuple[Tensor, Tensor | None, Tensor | None]:
        r"""The gradients of ``x``, ``weight1`` and ``x_0`` from the gradient :math:`g` of
        ``scale`` times the output, with :math:`o = (1 - \beta) u + \beta u W` and :math:`u =
        (1 - \alpha) \hat{P} x + \alpha x_0`: :math:`g_u = s ((1 - \beta) g + \beta g
        W^\top)`, :math:`g_W = s \beta u^\top g`, :math:`g_{x_0} = \alpha g_u`, :math:`g_x =
        (1 - \alpha) \hat{P}^\top g_u`."""
        w, beta = self.weight1, self.beta
        g_w = torch.mm(u.t(), grad).mul_(beta * scale) if w.requires_grad else None
        g_u = torch.addmm(grad, grad, w.detach().t(), beta=(1.0 - beta) * scale, alpha=beta * scale)
        g_x0 = g_u * self.alpha if want_x_0 else None
        g_x = sparse_mm(transposed(adj_t), g_u.mul_(1 - self.alpha))
        return g_x, g_w, g_x0


@register_conv("gat")
def gat(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    heads: int = 1,
    attn_dropout: float = 0.0,
) -> LeanGATConv:
    """Multi-head GAT, heads of ``out_channels // heads`` channels concatenated (RevGAT's
    block), as :class:`~revgnn.nn.conv.gat_conv.LeanGATConv`: PyG's ``GATConv`` without its
    per-edge feature tensors.

    Args:
        heads (int): Attention heads; must divide the conv's output width.
        attn_dropout (float): Dropout of the attention coefficients.
    """
    if heads < 1 or out_channels % heads != 0:
        raise ValueError(f"heads={heads} must divide the conv's out_channels={out_channels}")
    check_probability("attn_dropout", attn_dropout)
    return LeanGATConv(
        in_channels, out_channels // heads, heads=heads, dropout=attn_dropout, edge_dim=edge_dim
    )


@register_conv("sage", edge_features=False)
def sage(in_channels: int, out_channels: int, edge_dim: int | None) -> SAGEConv:
    """GraphSAGE with mean aggregation."""
    return SAGEConv(in_channels, out_channels)


def gcn_prepare(
    edge_index: Any, num_nodes: int, dtype: torch.dtype, *, per_edge: bool = False
) -> tuple[Any, dict]:
    r"""GCN's :math:`\hat{D}^{-1/2}(A + I)\hat{D}^{-1/2}`, computed once for every layer, as a
    CSR ``adj_t`` (rows are targets; int32 indices where they fit, :func:`int32_csr`): every
    layer then propagates by one sparse matrix product instead of a gather and a scatter over
    the edges (2.7x faster forward and backward on Amazon Photo, 32 channels, one CPU
    thread). With ``per_edge`` (a model being explained, :mod:`revgnn.nn.conv.propagate_hooks`)
    an edge index given as ``[2, E]`` stays an edge list: its edges in their order, self-loops
    appended, and the normalised weights as the convs' ``edge_weight``, PyG's ``gcn_norm``.

    An edge index ``[2, E]``, or a torch sparse adjacency whose values need no gradient, is
    normalised once while it lives unmodified
    (:func:`~revgnn.utils.tensor_cache.per_tensor`): a full-batch run passes the same one in
    every step and evaluation, which then also share the transpose that the backward pass
    multiplies by (:func:`~revgnn.nn.spmm.transposed`). PyG's ``cached=True`` does the same
    for one graph, and gives wrong results for the next; this cache follows the tensor. On
    Amazon Computers (491,722 edges, two threads) the normalisation and the transpose took
    46 ms of every training step."""
    sparse = is_sparse_adjacency(edge_index)
    if per_edge and not sparse:
        edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True, dtype=dtype)
        return edge_index, {"edge_weight": weight}
    if isinstance(edge_index, Tensor) and not edge_index.requires_grad:
        key = ("gcn_prepare", num_nodes, dtype)
        return per_tensor(edge_index, key, lambda: _normalized(edge_index, num_nodes, dtype)), {}
    return _normalized(edge_index, num_nodes, dtype), {}  # learnable weights, a SparseTensor


def _normalized(graph: Any, num_nodes: int, dtype: torch.dtype) -> Tensor:
    # PyG's adj_t, its values (if any) as edge weights; or an edge index [2, E].
    edge_index, weight = edge_list(graph) if is_sparse_adjacency(graph) else (graph, None)
    # A half-precision model's products run in fp32 on the CPU (spmm): so do the weights.
    dtype = sparse_dtype(dtype, edge_index.device)
    edge_index, weight = gcn_norm(edge_index, weight, num_nodes, add_self_loops=True, dtype=dtype)
    with quiet_csr():
        adj_t = to_torch_csr_tensor(edge_index.flip(0), weight, size=(num_nodes, num_nodes))
    return int32_csr(adj_t)


@register_conv(
    "gcn", edge_features=False, prepare=gcn_prepare, prepared_options={"normalize": False}
)
def gcn(
    in_channels: int, out_channels: int, edge_dim: int | None, *, normalize: bool = True
) -> GCNConv:
    """GCN; a model shares one normalisation of the graph between all its layers (the conv
    is then built with ``normalize=False``), unless its layers drop edges."""
    return GCNConv(in_channels, out_channels, normalize=normalize)


@register_conv("gin", operator=GINConv)
def gin(
    in_channels: int, out_channels: int, edge_dim: int | None, *, norm: str | None = "batch"
) -> nn.Module:
    """GIN, or GINE with edge features, with the MLP Linear -> Norm -> ReLU -> Linear."""
    layers: list[nn.Module] = [nn.Linear(in_channels, out_channels)]
    norm_module = norm_layer(norm, out_channels)
    if norm_module is not None:
        layers.append(norm_module)
    layers += [nn.ReLU(), nn.Linear(out_channels, out_channels)]
    mlp = nn.Sequential(*layers)
    if edge_dim is not None:
        return GINEConv(mlp, edge_dim=edge_dim)
    return GINConv(mlp)


class GCNIIConv(nn.Module):
    r"""GCNII's layer (Chen et al., "Simple and Deep Graph Convolutional Networks", ICML 2020):
    initial residual and identity mapping,

    .. math::

        \mathbf{h}' = \big((1 - \alpha) \hat{\mathbf{P}} \mathbf{h} + \alpha \mathbf{h}_0\big)
        \big((1 - \beta_l) \mathbf{I} + \beta_l \mathbf{W}\big), \qquad
        \beta_l = \log(\theta / l + 1),

    PyG's :class:`~torch_geometric.nn.conv.GCN2Conv` with the initial embedding as the keyword
    ``x0`` (the model passes it to every block), so that it composes as a revgnn operator.
    It propagates over a CSR adjacency by :func:`revgnn.nn.spmm.spmm` (:class:`GCN2Conv`).
    """

    def __init__(
        self, channels: int, alpha: float, theta: float, layer: int, normalize: bool
    ) -> None:
        super().__init__()
        self.conv = GCN2Conv(channels, alpha, theta, layer, normalize=normalize)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(
        self, x: Tensor, edge_index: Any, x0: Tensor, edge_weight: Tensor | None = None
    ) -> Tensor:
        return self.conv(x, x0, edge_index, edge_weight)

    def explicit_supported(self, x: Tensor, edge_index: Any, x0: Tensor | None) -> bool:
        """Whether :meth:`explicit_forward` / :meth:`explicit_backward` serve this call (see
        :meth:`revgnn.nn.PreActConv.explicit_vjp`)."""
        return x0 is not None and self.conv.explicit_supported(x, x0, edge_index)

    def explicit_forward(self, x: Tensor, edge_index: Any, x0: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`forward` without autograd (the same bits) and what the backward needs."""
        return self.conv.explicit_forward(x, x0, edge_index)

    def explicit_backward(
        self, saved: Tensor, grad: Tensor, edge_index: Any, want_x0: bool, scale: float = 1.0
    ) -> tuple[Tensor, list[Tensor | None], Tensor | None]:
        """The gradients of ``x``, of the parameters (``parameters()``'s order) and of ``x0``
        from the gradient of ``scale`` times the output."""
        g_x, g_w, g_x0 = self.conv.explicit_backward(saved, grad, edge_index, want_x0, scale)
        return g_x, [g_w], g_x0

    def __repr__(self) -> str:
        c = self.conv
        return f"GCNIIConv({c.channels}, alpha={c.alpha}, beta={c.beta:.3f})"


@register_conv(
    "gcnii",
    edge_features=False,
    prepare=gcn_prepare,
    prepared_options={"normalize": False},
    initial=True,
)
def gcnii(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    alpha: float = 0.1,
    theta: float = 0.5,
    layer: int = 1,
    normalize: bool = True,
) -> GCNIIConv:
    """GCNII with its Cora settings; ``layer`` is the block's depth.

    Args:
        alpha (float): Initial-residual weight: the share of the initial embedding.
        theta (float): Identity-mapping strength, beta_l = log(theta / l + 1).
    """
    if in_channels != out_channels:
        raise ValueError(
            f"gcnii maps channels to themselves: in_channels={in_channels} must equal "
            f"out_channels={out_channels}"
        )
    return GCNIIConv(in_channels, alpha, theta, layer, normalize)
