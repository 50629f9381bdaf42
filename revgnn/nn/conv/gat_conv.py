r"""GAT without the per-edge feature tensors: PyG's ``GATConv`` at O(E H) memory, not O(E H C).

.. math::

    \alpha_{ij} = \operatorname{softmax}_{j \in \mathcal{N}(i) \cup \{i\}}\big(
        \mathrm{LeakyReLU}(\mathbf{a}_s^\top \mathbf{W}\mathbf{x}_j
        + \mathbf{a}_d^\top \mathbf{W}\mathbf{x}_i
        + \mathbf{a}_e^\top \mathbf{W}_e \mathbf{e}_{ij})\big), \qquad
    \mathbf{x}_i' = \big\Vert_{h=1}^{H} \sum_j \alpha^h_{ij} \mathbf{W}^h \mathbf{x}_j
        + \mathbf{b}

(Veličković et al., ICLR 2018). PyG's ``GATConv`` materialises the messages
:math:`\alpha_{ij}\mathbf{W}\mathbf{x}_j` (:math:`E \times H \times C`) and keeps the gathered
:math:`\mathbf{W}\mathbf{x}_j` for the backward pass: 3.8 GB a tensor on ogbn-arxiv with RevGAT's
3 heads x 128 channels per group, 21.5 GB of live tensors at the peak of one full-batch training
step of the 5-block RevGAT. :class:`LeanGATConv` computes the attention (:math:`E \times H`)
as PyG does and aggregates the messages a block of edges at a time
(:func:`attention_aggregate`), recomputing them in the backward pass, so nothing of size
:math:`E \times H \times C` is kept. The edge term :math:`\mathbf{a}_e^\top\mathbf{W}_e
\mathbf{e}_{ij}` is one :math:`E \times H` product with the folded weights.

It is PyG's class with PyG's parameters (a PyG state dict loads into it) and falls back to
PyG's forward for what it does not cover: bipartite input, ``SparseTensor`` graphs,
``concat=False``, ``residual=True``, ``return_attention_weights``, and explain masks, hooks on
``propagate``'s steps or ``decomposed_layers > 1`` (:mod:`revgnn.nn.conv.propagate_hooks`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.nn import GATConv
from torch_geometric.utils import add_self_loops, remove_self_loops, softmax

from revgnn.nn.conv.propagate_hooks import OwnPropagate, needs_propagate
from revgnn.nn.dropout import dropout
from revgnn.utils.tensor_cache import per_tensor

__all__ = ["BLOCK_ENTRIES", "LeanGATConv", "attention_aggregate"]

#: Entries of one block of gathered messages (edges x heads x channels): 64 MB in fp32.
BLOCK_ENTRIES = 1 << 24


class _AttentionAggregate(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, alpha: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        out = torch.zeros_like(x)
        for lo, hi in _blocks(src.numel(), x):
            out.index_add_(0, dst[lo:hi], alpha[lo:hi, :, None] * x[src[lo:hi]])
        ctx.save_for_backward(x, alpha, src, dst)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        x, alpha, src, dst = ctx.saved_tensors
        grad_x = torch.zeros_like(x) if ctx.needs_input_grad[0] else None
        grad_alpha = torch.empty_like(alpha) if ctx.needs_input_grad[1] else None
        for lo, hi in _blocks(src.numel(), x):
            g = grad_out[dst[lo:hi]]
            if grad_alpha is not None:
                grad_alpha[lo:hi] = (g * x[src[lo:hi]]).sum(-1)
            if grad_x is not None:
                grad_x.index_add_(0, src[lo:hi], alpha[lo:hi, :, None] * g)
        return grad_x, grad_alpha, None, None


def _blocks(num_edges: int, x: Tensor) -> list[tuple[int, int]]:
    step = max(1, BLOCK_ENTRIES // max(1, math.prod(x.shape[1:])))  # one node's entries
    return [(lo, min(lo + step, num_edges)) for lo in range(0, num_edges, step)]


def attention_aggregate(x: Tensor, alpha: Tensor, src: Tensor, dst: Tensor) -> Tensor:
    r""":math:`\mathbf{out}_i = \sum_{(j, i)} \alpha_{ji} \mathbf{x}_j`, per head, a block of
    edges at a time, keeping only ``x`` and ``alpha`` for the backward pass.

    Shapes:
        - **x:** :math:`(N, H, C)`; **alpha:** :math:`(E, H)`; **src, dst:** :math:`(E,)`.
        - **output:** :math:`(N, H, C)`.
    """
    if alpha.shape != (src.numel(), x.size(1)):
        raise ValueError(
            f"alpha has shape {tuple(alpha.shape)}; it must be (num_edges={src.numel()}, "
            f"heads={x.size(1)})"
        )
    # As PyG's ``alpha * x_j`` promotes (fp32 attention on half features under autocast).
    dtype = torch.promote_types(x.dtype, alpha.dtype)
    return _AttentionAggregate.apply(x.to(dtype), alpha.to(dtype), src, dst)


class LeanGATConv(OwnPropagate, GATConv):
    """PyG's :class:`~torch_geometric.nn.conv.GATConv` (same arguments and parameters) whose
    forward pass keeps no :math:`E \\times H \\times C` tensor (see the module docstring).

    Attention dropout uses :func:`revgnn.nn.dropout` (the same distribution as PyG's, other
    masks for the same seed).

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`, edge
          features :math:`(E, D_e)` (optional).
        - **output:** :math:`(N, H \\cdot C)`.
    """

    def forward(  # type: ignore[override]
        self,
        x: Any,
        edge_index: Any,
        edge_attr: Tensor | None = None,
        size: Any = None,
        return_attention_weights: bool | None = None,
    ) -> Any:
        covered = (
            isinstance(x, Tensor)
            and isinstance(edge_index, Tensor)
            and not edge_index.is_sparse
            and edge_index.layout == torch.strided
            and self.lin is not None
            and self.concat
            and self.res is None
            and size is None
            and return_attention_weights is None
            and not needs_propagate(self)
        )
        if not covered:
            return super().forward(x, edge_index, edge_attr, size, return_attention_weights)
        heads, channels = self.heads, self.out_channels
        h = self.lin(x).view(-1, heads, channels)
        num_nodes = h.size(0)
        score_src = (h * self.att_src).sum(-1)
        score_dst = (h * self.att_dst).sum(-1)
        if self.add_self_loops:
            edge_index, edge_attr = _with_self_loops(
                edge_index, edge_attr, self.fill_value, num_nodes
            )
        src, dst = edge_index[0], edge_index[1]
        alpha = score_src[src] + score_dst[dst]
        if edge_attr is not None and self.lin_edge is not None:
            if edge_attr.dim() == 1:
                edge_attr = edge_attr.view(-1, 1)
            # a_e . (W_e e) per head is e . (W_e^T a_e): fold the weights, not the edges.
            weight = self.lin_edge.weight.view(heads, channels, -1)
            folded = (weight * self.att_edge.view(heads, channels, 1)).sum(1)
            alpha = alpha + edge_attr @ folded.t()
        alpha = F.leaky_relu(alpha, self.negative_slope)
        alpha = softmax(alpha, dst, num_nodes=num_nodes)
        alpha = dropout(alpha, self.dropout, self.training)
        out = attention_aggregate(h, alpha, src, dst).view(-1, heads * channels)
        if self.bias is not None:
            out = out + self.bias
        return out


def _with_self_loops(
    edge_index: Tensor, edge_attr: Tensor | None, fill_value: Any, num_nodes: int
) -> tuple[Tensor, Tensor | None]:
    """PyG's ``remove_self_loops`` then ``add_self_loops``. Without edge features the result
    depends on the graph alone, and every layer, group and recomputation of a model gets the
    same graph: it is computed once while ``edge_index`` lives unmodified
    (:func:`~revgnn.utils.tensor_cache.per_tensor`; 3.5 ms a call on Amazon Computers'
    491,722 edges, two threads)."""

    def build() -> tuple[Tensor, Tensor | None]:
        ei, attr = remove_self_loops(edge_index, edge_attr)
        return add_self_loops(ei, attr, fill_value=fill_value, num_nodes=num_nodes)

    if edge_attr is not None:
        return build()
    return per_tensor(edge_index, ("self loops", num_nodes), build)
