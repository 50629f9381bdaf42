import gc
import warnings

import pytest
import torch

import revgnn.nn.spmm as spmm_module
import revgnn.utils.tensor_cache as tensor_cache
from revgnn.nn.spmm import (
    int32_csr,
    rows_mm,
    sparse_dtype,
    sparse_mm,
    spmm,
    transposed,
    transposed_pattern,
)


def cached(matrix_id: int, kind: str) -> bool:
    """Whether the tensor cache holds ``kind`` ("transposed", "transposed pattern") of the
    sparse matrix with this id."""
    return any(key[0][0] == matrix_id and key[1] == kind for key in tensor_cache._CACHE)


def csr(n: int = 40, e: int = 200, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    index = torch.randint(0, n, (2, e), generator=g)
    coo = torch.sparse_coo_tensor(index, torch.rand(e, generator=g), (n, n)).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return coo.to_sparse_csr()


def test_values_and_gradients_equal_torch_sparse_mm_bit_for_bit():
    adj = csr()
    x = torch.randn(40, 8, requires_grad=True)
    grad = torch.randn(40, 8)
    ref = torch.sparse.mm(adj, x)
    (ref_grad,) = torch.autograd.grad(ref, x, grad)
    out = spmm(adj, x)
    (got_grad,) = torch.autograd.grad(out, x, grad)
    assert torch.equal(out, ref) and torch.equal(got_grad, ref_grad)
    # non-symmetric: the transpose matters
    assert not torch.equal(got_grad, torch.sparse.mm(adj, grad))


def test_second_derivative():
    adj = csr()
    x = torch.randn(40, 3, requires_grad=True)
    (g,) = torch.autograd.grad(spmm(adj, x).square().sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), x)
    dense = adj.to_dense()
    torch.testing.assert_close(gg, 2 * dense.t() @ (dense @ torch.ones(40, 3)))


def test_transpose_is_built_once_and_released_with_the_adjacency():
    adj = csr(seed=1)
    first = transposed(adj)
    assert transposed(adj) is first
    torch.testing.assert_close(first.to_dense(), adj.to_dense().t())
    adj.values().mul_(2.0)  # an in-place change: built again, not the stale transpose
    again = transposed(adj)
    assert again is not first
    torch.testing.assert_close(again.to_dense(), adj.to_dense().t())
    key = id(adj)
    assert cached(key, "transposed")
    del adj, first, again
    gc.collect()
    assert not cached(key, "transposed")


def test_other_layouts_and_learnable_weights_go_through_torch():
    adj = csr()
    x = torch.randn(40, 4, requires_grad=True)
    coo = adj.to_sparse_coo()
    assert torch.equal(spmm(coo, x), torch.sparse.mm(coo, x))
    weighted = adj.detach().clone().requires_grad_()
    out = spmm(weighted, x)
    assert out.grad_fn is not None and "Spmm" not in type(out.grad_fn).__name__


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_int32_indices_give_the_same_products_and_gradients_bit_for_bit(dtype):
    adj = csr(seed=2).to(dtype)
    assert adj.crow_indices().dtype == torch.int64
    small = int32_csr(adj)
    assert small.crow_indices().dtype == small.col_indices().dtype == torch.int32
    assert torch.equal(small.to_dense(), adj.to_dense())
    assert transposed(small).col_indices().dtype == torch.int32
    assert int32_csr(small) is small
    x, grad = torch.randn(40, 8, dtype=dtype, requires_grad=True), torch.randn(40, 8, dtype=dtype)
    outs = [spmm(a, x) for a in (adj, small)]
    grads = [torch.autograd.grad(out, x, grad)[0] for out in outs]
    assert torch.equal(outs[0], outs[1]) and torch.equal(grads[0], grads[1])


def test_int32_csr_keeps_int64_indices_that_do_not_fit(monkeypatch):
    adj = csr(seed=3)
    monkeypatch.setattr(spmm_module, "_INT32_LIMIT", adj._nnz())
    assert int32_csr(adj) is adj
    monkeypatch.setattr(spmm_module, "_INT32_LIMIT", adj._nnz() + 1)
    assert int32_csr(adj).col_indices().dtype == torch.int32


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_products_run_in_fp32_on_the_cpu(dtype):
    # MKL's CSR product has no half precision ("addmm_out_sparse_csr_impl_mkl" not
    # implemented for 'BFloat16'): a model cast to it multiplies in fp32, rounds once.
    adj = csr()
    x = torch.randn(40, 8).to(dtype).requires_grad_()
    grad = torch.randn(40, 8).to(dtype)
    out = spmm(adj, x)
    (got,) = torch.autograd.grad(out, x, grad)
    assert out.dtype == got.dtype == dtype
    assert torch.equal(out, torch.sparse.mm(adj, x.detach().float()).to(dtype))
    assert torch.equal(got, torch.sparse.mm(adj.t().to_sparse_csr(), grad.float()).to(dtype))
    assert torch.equal(sparse_mm(adj, x.detach()), out)
    half_adj = adj.to(dtype)  # a half-precision adjacency multiplies in fp32 too
    expected = torch.sparse.mm(half_adj.to(torch.float32), x.detach().float()).to(dtype)
    assert torch.equal(sparse_mm(half_adj, x.detach()), expected)
    assert sparse_dtype(dtype, torch.device("cpu")) == torch.float32
    assert sparse_dtype(dtype, torch.device("cuda")) == dtype
    assert sparse_dtype(torch.float64, torch.device("cpu")) == torch.float64


def rectangular(n: int = 30, f: int = 50, e: int = 160, seed: int = 0) -> torch.Tensor:
    """A CSR matrix with empty rows and empty columns, as bag-of-words features have."""
    g = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, n - 5, (e,), generator=g)  # the last 5 rows empty
    cols = torch.randint(3, f, (e,), generator=g)  # the first 3 columns empty
    index = torch.stack([rows, cols])
    coo = torch.sparse_coo_tensor(index, torch.rand(e, generator=g), (n, f)).coalesce()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return coo.to_sparse_csr()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rows_mm_equals_torch_sparse_mm_bit_for_bit_on_dropped_values(dtype):
    features = rectangular().to(dtype)
    w = torch.randn(50, 6, dtype=dtype, requires_grad=True)
    grad = torch.randn(30, 6, dtype=dtype)
    # The step's matrix: the features' pattern, other values (dropout), the pattern kept of
    # the features themselves.
    values = features.values() * (torch.rand(features._nnz()) < 0.5).to(dtype) * 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rows = torch.sparse_csr_tensor(
            features.crow_indices(), features.col_indices(), values, features.shape
        )
    for pattern_of in (features, None):
        ref = torch.sparse.mm(rows, w)
        (ref_grad,) = torch.autograd.grad(ref, w, grad)
        out = rows_mm(rows, w, pattern_of)
        (got_grad,) = torch.autograd.grad(out, w, grad)
        assert torch.equal(out, ref) and torch.equal(got_grad, ref_grad)
    assert cached(id(features), "transposed pattern") and cached(id(rows), "transposed pattern")
    # A second derivative through the backward pass's product.
    (g,) = torch.autograd.grad(rows_mm(rows, w, features).square().sum(), w, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), w)
    dense = rows.to_dense()
    torch.testing.assert_close(gg, 2 * dense.t() @ (dense @ torch.ones(50, 6, dtype=dtype)))
    # Without a gradient to make, torch's product itself.
    assert torch.equal(rows_mm(rows, w.detach()), torch.sparse.mm(rows, w.detach()))
    with pytest.raises(ValueError, match=r"pattern_of \(shape \[30, 50\], \d+ non-zeros\) must"):
        rows_mm(rows, w, rectangular(seed=5))


def test_the_transposed_pattern_is_built_once_and_released_with_the_matrix():
    features = rectangular(seed=2)
    crow_t, col_t, perm = first = transposed_pattern(features)
    assert transposed_pattern(features) is first
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = torch.sparse_csr_tensor(crow_t, col_t, features.values()[perm], (50, 30))
    torch.testing.assert_close(t.to_dense(), features.to_dense().t())
    key = id(features)
    assert cached(key, "transposed pattern")
    del features, first
    gc.collect()
    assert not cached(key, "transposed pattern")


def test_inference_tensors_are_transposed_without_being_cached():
    with torch.inference_mode():
        adj = csr(seed=3)
        features = rectangular(seed=3)
        dense_adj, dense_features = adj.to_dense(), features.to_dense()
    before = len(tensor_cache._CACHE)
    torch.testing.assert_close(transposed(adj).to_dense(), dense_adj.t())
    crow_t, col_t, perm = transposed_pattern(features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t = torch.sparse_csr_tensor(crow_t, col_t, features.values()[perm], (50, 30))
    torch.testing.assert_close(t.to_dense(), dense_features.t())
    assert len(tensor_cache._CACHE) == before
