r"""Sparse-dense products whose backward pass reuses the transposed adjacency.

``torch.sparse.mm(adj_t, x)`` with a CSR ``adj_t`` (GCN's normalised adjacency, built once per
graph by :func:`~revgnn.nn.conv.pyg_convs.gcn_prepare`) back-propagates through
:math:`\mathbf{A}^\top`, which torch rebuilds on every backward call: a conversion with a
sort of the whole adjacency. A 64-block GCNII model runs 128 of them per training step; on
Cora they took 25% of an epoch's time, and the sort alone 16% (`docs/models.md`).
:func:`spmm` computes the same product with the transpose built once per adjacency tensor (and
version) and kept while it lives; its gradient equals torch's bit for bit.

:func:`int32_csr` gives an adjacency the index type of MKL's sparse kernels, which torch's CPU
product otherwise makes from int64 indices on every call: two index copies a product, and
the main job's 64 blocks make 512 products an epoch.

:func:`rows_mm` is the same for a sparse matrix whose values change from step to step on a
fixed pattern (bag-of-words features with dropout on their non-zeros): the transpose's pattern
is built once per matrix and its values are gathered from the step's own. On Coauthor CS's
features (18,333 x 6,805, 1,092,079 non-zeros) times a 64-column weight, torch's forward and
backward pass took 80 ms, 72 of them in the backward pass's transpose; 20 ms with the pattern
kept, the same bits.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from revgnn.utils.sparse import quiet_csr
from revgnn.utils.tensor_cache import per_tensor

__all__ = [
    "int32_csr",
    "rows_mm",
    "sparse_dtype",
    "sparse_mm",
    "spmm",
    "transposed",
    "transposed_pattern",
]

#: Indices at or above this do not fit int32.
_INT32_LIMIT = 2**31


def transposed(adj: Tensor) -> Tensor:
    """The CSR transpose of the sparse CSR ``adj``, built once per version of ``adj`` (an
    in-place change of its values builds it again) and kept while ``adj`` lives
    (:func:`~revgnn.utils.tensor_cache.per_tensor`)."""

    def build() -> Tensor:
        with quiet_csr():
            return adj.detach().t().to_sparse_csr()

    return per_tensor(adj, ("transposed",), build)


def transposed_pattern(adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The pattern of the sparse CSR ``adj``'s transpose, ``(crow_indices, col_indices,
    perm)``, such that ``adj.values()[perm]`` are the transpose's values in its order; built
    once per version of ``adj`` and kept while ``adj`` lives, like :func:`transposed`."""
    return per_tensor(adj, ("transposed pattern",), lambda: _pattern(adj))


def _pattern(adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    crow, col = adj.crow_indices(), adj.col_indices()
    # A stable sort by column keeps each column's entries in row order: the transpose's rows
    # come out sorted, as CSR wants them.
    perm = torch.sort(col, stable=True).indices
    rows = torch.repeat_interleave(
        torch.arange(adj.size(0), dtype=col.dtype, device=col.device), crow.diff()
    )
    crow_t = torch.zeros(adj.size(1) + 1, dtype=crow.dtype, device=crow.device)
    torch.cumsum(torch.bincount(col, minlength=adj.size(1)), 0, out=crow_t[1:])
    # Kept for the matrix's life: in the index type of the matrix (int32 where it fits).
    return crow_t, rows.index_select(0, perm), perm.to(col.dtype)


def int32_csr(adj: Tensor) -> Tensor:
    """The sparse CSR ``adj`` with int32 row pointers and column indices (the same matrix),
    where its size and number of non-zeros fit them; ``adj`` itself otherwise."""
    if adj.crow_indices().dtype == torch.int32 or max(*adj.shape, adj._nnz()) >= _INT32_LIMIT:
        return adj
    with quiet_csr():
        return torch.sparse_csr_tensor(
            adj.crow_indices().int(), adj.col_indices().int(), adj.values(), adj.shape
        )


class _Spmm(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, adj_t: Tensor, x: Tensor) -> Tensor:
        ctx.adj_t = adj_t
        return torch.sparse.mm(adj_t, x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        # Differentiable torch ops: a second derivative (create_graph=True) stays right.
        return None, torch.sparse.mm(transposed(ctx.adj_t), grad)


class _RowsMm(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, rows: Tensor, w: Tensor, pattern: tuple[Tensor, ...]) -> Tensor:
        ctx.rows, ctx.pattern = rows, pattern
        return torch.sparse.mm(rows, w)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor, None]:
        crow_t, col_t, perm = ctx.pattern
        rows = ctx.rows
        with quiet_csr():
            rows_t = torch.sparse_csr_tensor(
                crow_t, col_t, rows.values()[perm], (rows.size(1), rows.size(0))
            )
        # Differentiable torch ops: a second derivative (create_graph=True) stays right.
        return None, torch.sparse.mm(rows_t, grad), None


def rows_mm(rows: Tensor, w: Tensor, pattern_of: Tensor | None = None) -> Tensor:
    r""":math:`\mathbf{R} \mathbf{W}` for a sparse CSR ``rows`` whose values need no gradient,
    the gradient of ``w`` by the transpose of ``rows`` whose pattern :func:`transposed_pattern`
    keeps (for ``pattern_of``, a CSR matrix of the same pattern that outlives ``rows``: the
    same features before this step's dropout); ``torch.sparse.mm`` where ``w`` needs no
    gradient or ``rows`` is not CSR.

    Shapes:
        - **input:** ``rows`` :math:`(N, F)`, ``w`` :math:`(F, D)`
        - **output:** :math:`(N, D)`
    """
    if (
        rows.layout != torch.sparse_csr
        or rows.requires_grad
        or not (torch.is_grad_enabled() and w.requires_grad)
    ):
        return torch.sparse.mm(rows, w)
    if pattern_of is None:
        pattern_of = rows
    elif pattern_of.shape != rows.shape or pattern_of._nnz() != rows._nnz():
        raise ValueError(
            f"pattern_of (shape {list(pattern_of.shape)}, {pattern_of._nnz()} non-zeros) must "
            f"have the pattern of rows (shape {list(rows.shape)}, {rows._nnz()} non-zeros)"
        )
    return _RowsMm.apply(rows, w, transposed_pattern(pattern_of))


def sparse_dtype(dtype: torch.dtype, device: torch.device) -> torch.dtype:
    """The dtype a sparse product with dense operands of ``dtype`` runs in: float32 for fp16
    and bf16 on the CPU, whose sparse kernels (MKL's) have no half precision; ``dtype``
    otherwise."""
    half = dtype in (torch.float16, torch.bfloat16)
    return torch.float32 if half and device.type == "cpu" else dtype


def _in_dtype(adj: Tensor, dtype: torch.dtype) -> Tensor:
    return adj if adj.dtype == dtype else adj.to(dtype)


def sparse_mm(adj: Tensor, x: Tensor) -> Tensor:
    """``torch.sparse.mm(adj, x)`` in :func:`sparse_dtype`, returned in ``x``'s dtype."""
    want = sparse_dtype(x.dtype, x.device)
    if want == x.dtype:
        return torch.sparse.mm(adj, x)
    return torch.sparse.mm(_in_dtype(adj, want), x.to(want)).to(x.dtype)


def spmm(adj_t: Tensor, x: Tensor) -> Tensor:
    r""":math:`\mathbf{A}^\top \mathbf{X}` for a sparse CSR ``adj_t`` (rows are targets, as PyG's
    ``adj_t``): ``torch.sparse.mm(adj_t, x)``, whose gradient with respect to ``x`` uses the
    transpose cached by :func:`transposed`. An adjacency that needs its own gradient (learnable
    edge weights) or any other layout goes through ``torch.sparse.mm`` directly.

    Shapes:
        - **input:** ``adj_t`` :math:`(N_{dst}, N_{src})`, ``x`` :math:`(N_{src}, D)`
        - **output:** :math:`(N_{dst}, D)`, in ``x``'s dtype (fp16 / bf16 on the CPU multiply
          in fp32, :func:`sparse_dtype`)
    """
    want = sparse_dtype(x.dtype, x.device)
    if want != x.dtype:
        return spmm(_in_dtype(adj_t, want), x.to(want)).to(x.dtype)
    if adj_t.layout != torch.sparse_csr or adj_t.requires_grad or not x.requires_grad:
        return torch.sparse.mm(adj_t, x)
    return _Spmm.apply(adj_t, x)
