r"""Encoding sparse node features (bag-of-words) as a sparse matrix product.

Bag-of-words features are mostly zeros: Coauthor CS holds 18,333 x 6,805 entries of which
under 1% are set. A dense :class:`~torch.nn.Linear` multiplies every zero, and input dropout
draws a random number for each: on one CPU thread the dense input dropout + Linear forward and
backward of a CS-sized matrix took 2.8-3.5 s, the same through a CSR matrix of the non-zeros
0.13 s (`docs/models.md`). :func:`sparse_rows` keeps a CSR copy of features sparser than
:data:`SPARSE_INPUT` (built once per tensor and version, kept while the tensor lives), and
:func:`sparse_linear` computes

.. math::

    \mathbf{H} = \mathrm{Dropout}(\mathbf{X}) \mathbf{W}^\top + \mathbf{b}

from it, with dropout on the non-zeros only: the same distribution as dense dropout (a zero
stays zero either way), different random draws. The weight's gradient multiplies by the
transposed copy, whose pattern is built once (:func:`~revgnn.nn.spmm.rows_mm`; torch rebuilt
it, with a sort, in every backward pass: 72 ms of an 80 ms encoder step on CS).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from revgnn.nn.dropout import dropout
from revgnn.nn.spmm import int32_csr, rows_mm, sparse_dtype
from revgnn.utils.sparse import quiet_csr
from revgnn.utils.tensor_cache import per_tensor

__all__ = ["SPARSE_INPUT", "sparse_encode", "sparse_linear", "sparse_rows"]

#: Node features with a smaller share of non-zero entries are encoded through their CSR copy
#: (the share below which GCN's preprocessing treats features as bag-of-words, too).
SPARSE_INPUT = 0.05


def _convert(x: Tensor) -> Tensor | None:
    if x.layout == torch.strided and int(torch.count_nonzero(x)) >= SPARSE_INPUT * x.numel():
        return None
    with quiet_csr():  # fp16 / bf16 on the CPU: an fp32 copy, the dtype of the product
        rows = x.detach().to(sparse_dtype(x.dtype, x.device)).to_sparse_csr()
    return int32_csr(rows)  # MKL's index type: no index copies in every product


def sparse_rows(x: Tensor) -> Tensor | None:
    """A CSR copy of the 2-D float features ``x`` when fewer than :data:`SPARSE_INPUT` of its
    entries are non-zero, or when ``x`` is a sparse COO / CSR tensor already, else ``None``;
    also ``None`` when ``x`` needs its own gradient, is not a float matrix, or is empty. The
    copy is made once per tensor and version and kept for as long as ``x`` lives.

    Shapes:
        - **input:** :math:`(N, F)`
        - **output:** a sparse CSR :math:`(N, F)`, or ``None``
    """
    if (
        x.dim() != 2
        or not x.is_floating_point()
        or x.layout not in (torch.strided, torch.sparse_coo, torch.sparse_csr)
        or x.requires_grad
        or x.numel() == 0
    ):
        return None
    return per_tensor(x, ("sparse rows",), lambda: _convert(x))


def sparse_linear(rows: Tensor, linear: nn.Linear, p: float, training: bool) -> Tensor:
    r""":math:`\mathrm{Dropout}(\mathbf{X}) \mathbf{W}^\top + \mathbf{b}` with ``rows`` the
    CSR :math:`\mathbf{X}` (from :func:`sparse_rows`) and ``linear`` holding
    :math:`\mathbf{W}, \mathbf{b}`; dropout of probability ``p`` on the non-zeros when
    ``training``. Computed outside autocast, in the features' dtype (sparse products have no
    half-precision CPU kernels); gradients reach ``linear``'s parameters.

    Shapes:
        - **input:** ``rows`` :math:`(N, F)` sparse CSR; ``linear`` maps :math:`F \to D`
        - **output:** :math:`(N, D)`
    """
    features = rows
    if training and p > 0.0:
        values = dropout(rows.values(), p, training)
        with quiet_csr():
            rows = torch.sparse_csr_tensor(
                rows.crow_indices(), rows.col_indices(), values, rows.shape
            )
    with torch.autocast(rows.device.type, enabled=False):
        # A half-precision model's weights multiply in the copy's fp32 (sparse_dtype).
        weight = linear.weight
        out = rows_mm(rows, weight.t().to(rows.dtype), features).to(weight.dtype)
    return out if linear.bias is None else out + linear.bias


# Runs as written inside a torch.compile of the model: dynamo 2.13 fails to hold a sparse CSR
# tensor in a traced frame (an IndexError in its automatic dynamic strides), and the CSR copy
# is a tensor-keyed cache (see revgnn.utils.checks._once).
@torch.compiler.disable
def sparse_encode(x: Tensor, linear: nn.Linear, p: float, training: bool) -> Tensor | None:
    """:func:`sparse_linear` of :func:`sparse_rows` of ``x``, or ``None`` where ``x`` is not
    sparse (then the caller encodes it densely)."""
    rows = sparse_rows(x)
    return None if rows is None else sparse_linear(rows, linear, p, training)
