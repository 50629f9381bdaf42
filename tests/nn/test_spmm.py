import gc
import warnings

import pytest
import torch

import revgnn.nn.spmm as spmm_module
from revgnn.nn.spmm import int32_csr, sparse_dtype, sparse_mm, spmm, transposed


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
    assert key in spmm_module._TRANSPOSED
    del adj, first, again
    gc.collect()
    assert key not in spmm_module._TRANSPOSED


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
