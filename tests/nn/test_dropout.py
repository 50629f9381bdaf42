import math

import pytest
import torch

import revgnn.nn.dropout as dropout_module
from revgnn.nn import Dropout
from revgnn.nn.dropout import act_dropout, dropout, dropout_mask, relu_dropout
from revgnn.utils.compile import CompiledKernel, set_compile


@pytest.mark.parametrize("p", [0.001, 0.1, 0.5, 0.8])
def test_zeroes_a_binomial_fraction_and_scales_the_rest(p):
    torch.manual_seed(0)
    x = torch.rand(400_000) + 1.0
    out = dropout(x, p)
    zero = out == 0
    n = x.numel()
    assert abs(zero.sum().item() - p * n) < 5 * math.sqrt(n * p * (1 - p))
    torch.testing.assert_close(out[~zero], x[~zero] / (1 - p))


def test_identity_when_not_training_or_p_zero():
    x = torch.randn(5, 3)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    layer = Dropout(0.5).eval()
    assert layer(x) is x


def test_gradient_is_the_mask_scaled():
    torch.manual_seed(0)
    x = torch.randn(50, 8, requires_grad=True)
    out = dropout(x, 0.3)
    out.sum().backward()
    expected = (out != 0).float() / 0.7
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
def test_keeps_the_dtype_and_resolves_p_in_fp32(dtype):
    torch.manual_seed(0)
    x = torch.ones(200_000, dtype=dtype)
    out = dropout(x, 0.01)
    assert out.dtype == dtype
    # A draw in bf16 would round p = 0.01 to 2^-7 steps: 0.0078 or 0.0117.
    assert abs((out == 0).double().mean().item() - 0.01) < 0.0012


def test_seeded_calls_repeat_and_large_tensors_are_drawn_in_chunks(monkeypatch):
    x = torch.randn(70, 30)
    torch.manual_seed(3)
    a = dropout(x, 0.4)
    torch.manual_seed(3)
    assert torch.equal(dropout(x, 0.4), a)  # what the reversible backward's replay needs
    monkeypatch.setattr(dropout_module, "_CHUNK", 256)
    monkeypatch.setattr(dropout_module, "_EAGER_CHUNK", 256)
    big = torch.ones(300, 200)
    torch.manual_seed(3)
    chunked = dropout(big, 0.4)
    torch.manual_seed(3)
    assert torch.equal(dropout(big, 0.4), chunked)
    assert chunked.shape == big.shape
    torch.testing.assert_close(chunked.unique(), torch.tensor([0.0, 1 / 0.6]))
    n = big.numel()
    assert abs((chunked == 0).sum().item() - 0.4 * n) < 5 * math.sqrt(n * 0.24)
    # Every chunk hashes its own indices (not one chunk's mask repeated), and the chunked
    # mask is the unchunked one.
    rows = chunked.flatten()[: 256 * 2].view(2, 256)
    assert not torch.equal(rows[0], rows[1])
    monkeypatch.setattr(dropout_module, "_CHUNK", 1 << 20)
    monkeypatch.setattr(dropout_module, "_EAGER_CHUNK", 1 << 20)
    torch.manual_seed(3)
    assert torch.equal(dropout(big, 0.4), chunked)


def test_mask_applies_like_dropout():
    like = torch.randn(40, 6, dtype=torch.float64)
    torch.manual_seed(1)
    mask = dropout_mask(like, 0.25)
    assert mask.dtype == like.dtype and mask.shape == like.shape
    assert set(mask.unique().tolist()) <= {0.0, 1 / 0.75}
    torch.manual_seed(1)
    torch.testing.assert_close(like * mask, dropout(like, 0.25))


def test_module_and_function_validate_p():
    with pytest.raises(ValueError, match=r"p=1.0 must lie in \[0, 1\)"):
        Dropout(1.0)
    with pytest.raises(ValueError, match=r"p=-0.1 must lie in \[0, 1\)"):
        dropout(torch.ones(3), -0.1)


@pytest.mark.parametrize("shape", [(50, 8), (300, 200)])  # one draw, and chunks
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, "autocast"])
def test_compiled_equals_eager_bit_for_bit(compiled, monkeypatch, shape, dtype):
    # Compiled and eager chunks differ in size (4096 and 1000 elements here): the mask
    # hashes the element's index in the whole tensor, so the bits agree anyway. Half
    # precision and autocast take the compiled kernel too, in fp32.
    monkeypatch.setattr(dropout_module, "_CHUNK", 4096)
    monkeypatch.setattr(dropout_module, "_EAGER_CHUNK", 1000)
    x = torch.randn(*shape, dtype=torch.float32 if dtype == "autocast" else dtype)
    x.requires_grad_()
    outs, grads = [], []
    for on in (True, False):
        set_compile(on)
        torch.manual_seed(7)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "autocast"):
            out = dropout(x, 0.3)
        (grad,) = torch.autograd.grad(out, x, torch.ones_like(out))
        outs.append(out)
        grads.append(grad)
    assert torch.equal(outs[0], outs[1]) and torch.equal(grads[0], grads[1])
    assert outs[0].dtype == x.dtype
    assert dropout_module._MASKED._compiled is not None and not dropout_module._MASKED.failed


def test_compiled_kernel_survives_views_of_another_rank(compiled, monkeypatch):
    # 2-D activations first, then a sparse matrix's values (a 1-D view) in chunks: dynamo
    # 2.13 raised IndexError on such views and the kernel fell back to eager for good (the
    # fixture's empty dynamo cache makes the first call compile the 2-D graph).
    monkeypatch.setattr(dropout_module, "_CHUNK", 4096)
    monkeypatch.setattr(dropout_module, "_MASKED", CompiledKernel(dropout_module._masked))
    dropout(torch.randn(300, 8), 0.3)
    values = (torch.rand(200, 100) < 0.3).float().to_sparse_csr().values()
    torch.manual_seed(7)
    got = dropout(values, 0.3)
    set_compile(False)
    torch.manual_seed(7)
    assert torch.equal(got, dropout(values, 0.3))
    assert not dropout_module._MASKED.failed


def test_second_derivative_and_only_the_keys_are_saved():
    x = torch.randn(40, 5, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(2)
    out = dropout(x, 0.5)
    # The backward pass hashes the indices again: 16 bytes kept, not a mask an element.
    assert [(t.dtype, t.numel()) for t in out.grad_fn.saved_tensors] == [(torch.int64, 2)]
    (grad,) = torch.autograd.grad((out**2).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    # sum((2 x)^2) over the kept entries: 8 where kept, 0 where dropped.
    torch.testing.assert_close(second, 8 * (out != 0).double())


def test_masks_of_different_calls_and_neighbouring_elements_are_uncorrelated():
    # The hash must not tie the masks of successive calls (e.g. one a shifted copy of
    # another) nor neighbouring elements of one mask: a keyed hash with weak mixing does.
    torch.manual_seed(0)
    n, p = 200_000, 0.5
    masks = torch.stack([dropout(torch.ones(n), p) != 0 for _ in range(8)]).double()
    centred = masks - masks.mean(dim=1, keepdim=True)
    corr = (centred @ centred.T) / (centred.norm(dim=1)[:, None] * centred.norm(dim=1)[None])
    off_diagonal = corr[~torch.eye(8, dtype=torch.bool)]
    bound = 5 / n**0.5  # five standard errors of a correlation of independent masks
    assert off_diagonal.abs().max() < bound
    for shift in (1, 2, 31, 32, 256):
        lagged = (centred[0, :-shift] * centred[0, shift:]).mean() / centred[0].var()
        assert abs(lagged) < bound
    # Each bit of the kept indices is balanced (no stripes along the index).
    kept = masks[0].nonzero().squeeze(1)
    for bit in range(12):
        share = ((kept >> bit) & 1).double().mean()
        assert abs(share - 0.5) < 5 * 0.5 / kept.numel() ** 0.5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, "autocast"])
def test_relu_dropout_equals_relu_then_dropout_bit_for_bit(dtype):
    x = torch.randn(300, 16, dtype=torch.float32 if dtype == "autocast" else dtype)
    x[:5] = 0.0  # ReLU's kink: no gradient through an exact zero either way
    x.requires_grad_()
    g = torch.randn(300, 16, dtype=x.dtype)
    results = []
    for fn in (lambda v: dropout(torch.relu(v), 0.3), lambda v: relu_dropout(v, 0.3)):
        torch.manual_seed(5)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "autocast"):
            out = fn(x)
        (grad,) = torch.autograd.grad(out, x, g.to(out.dtype), retain_graph=True)
        results.append((out, grad, torch.randint(0, 1 << 30, (1,))))  # the same draws
    (out_a, grad_a, next_a), (out_b, grad_b, next_b) = results
    assert torch.equal(out_a, out_b) and torch.equal(grad_a, grad_b)
    assert torch.equal(next_a, next_b) and 0.2 < float((out_b == 0).float().mean()) < 0.8
    # One node, which keeps the output (as ReLU would) and no mask or keys.
    assert [t.data_ptr() for t in out_b.grad_fn.saved_tensors] == [out_b.data_ptr()]
    assert torch.equal(relu_dropout(x, 0.3, training=False), torch.relu(x))
    with pytest.raises(ValueError, match=r"p=1.0 must lie in \[0, 1\)"):
        relu_dropout(x, 1.0)


def test_relu_dropout_second_derivative_and_no_grad_path():
    x = torch.randn(40, 5, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(2)
    out = relu_dropout(x, 0.5)
    (grad,) = torch.autograd.grad((out**2).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    # sum(2 (2 relu(x))^2) where kept: 8 where the output is positive, 0 elsewhere.
    torch.testing.assert_close(second, 8 * (out > 0).double())
    torch.manual_seed(2)
    with torch.no_grad():
        assert torch.equal(relu_dropout(x, 0.5), out.detach())


@pytest.mark.parametrize("act", [torch.nn.ReLU(), torch.nn.GELU(), None])
def test_act_dropout_is_act_then_dropout_and_fuses_only_relu(act):
    x = torch.randn(60, 8, requires_grad=True)
    g = torch.randn(60, 8)
    results = []
    for fn in (lambda: act_dropout(x, act, 0.4, True),
               lambda: dropout(act(x) if act is not None else x, 0.4)):  # fmt: skip
        torch.manual_seed(3)
        out = fn()
        results.append((out, torch.autograd.grad(out, x, g)[0], type(out.grad_fn).__name__))
    (out_a, grad_a, node_a), (out_b, grad_b, _) = results
    assert torch.equal(out_a, out_b) and torch.equal(grad_a, grad_b)
    assert (node_a == "_ReluDropoutBackward") == isinstance(act, torch.nn.ReLU)


def _reference_keep(n, keys, start, threshold):
    # The hash in 64-bit lanes, as the module docstring defines it, for elements start...
    m32, mix = 0xFFFFFFFF, 0x45D9F3B

    def rounds(h):
        for _ in range(2):
            h = ((h ^ (h >> 16)) * mix) & m32
        return h ^ (h >> 16)

    idx = torch.arange(n, dtype=torch.int64) + start
    h = rounds((idx & m32) ^ keys[0])
    h = rounds(h ^ (((idx >> 32) + keys[1]) & m32))
    return (h >> 8) >= threshold


@pytest.mark.parametrize("start", [0, 12_345, 2**32 - 67, 2**32, 3 * 2**32 + 2**31 + 7])
def test_the_32_bit_kernel_is_the_64_bit_hash(compiled, start):
    # Wrapping int32 arithmetic gives the 64-bit lanes' low words, past 2^31 (negative
    # words) and past 2^32 (the high word), in the compiled kernel and the eager one.
    keys = [0xFFFFFFFF, 0x80000001]
    threshold = dropout_module._threshold(0.4)
    n = 67  # not a multiple of any vector width: the kernels' scalar tails run too
    expected = _reference_keep(n, keys, start, threshold)
    words, relu_words = (dropout_module._words(keys, start, relu) for relu in (False, True))
    x = torch.linspace(-1.0, 1.0, n)
    for kernel in (dropout_module._masked, dropout_module._MASKED):
        assert torch.equal(kernel(torch.ones(n), words, threshold, 1.0) != 0, expected)
        assert torch.equal(kernel(x, words, threshold, 2.0), torch.where(expected, x * 2.0, 0.0))
        fused = kernel(x, relu_words, threshold, 2.0)  # ReLU inside the kernel
        assert torch.equal(fused, torch.where(expected, torch.relu(x) * 2.0, 0.0))
    assert not dropout_module._MASKED.failed


def test_chunks_never_straddle_a_span_of_2_32_elements(monkeypatch):
    # Within a chunk the index's high word is one constant: _apply splits at its multiples
    # (shrunk to 1000 here), and the split changes no bit.
    x = torch.randn(300, 200)
    torch.manual_seed(4)
    whole = dropout(x, 0.3)
    calls = []
    masked = dropout_module._masked

    def spy(part, words, *args):
        calls.append((int(words[0]), part.numel()))
        return masked(part, words, *args)

    monkeypatch.setattr(dropout_module, "_SPAN", 1000)
    monkeypatch.setattr(dropout_module, "_EAGER_CHUNK", 4096)
    monkeypatch.setattr(dropout_module, "_masked", spy)
    torch.manual_seed(4)
    assert torch.equal(dropout(x, 0.3), whole)
    assert sum(n for _, n in calls) == x.numel() and len(calls) == 60
    assert all(start // 1000 == (start + n - 1) // 1000 for start, n in calls)
