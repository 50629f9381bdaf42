import pytest
import torch
from torch import nn

from revgnn.models.encoder import NodeEncoder
from revgnn.nn.sparse_input import SPARSE_INPUT, sparse_linear, sparse_rows


def bag_of_words(n: int = 60, f: int = 200, density: float = 0.02, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, f, generator=g) < density).float()
    x[:, 0] = 1.0  # no empty row
    return x / x.sum(1, keepdim=True)


def test_sparse_rows_only_for_sparse_float_features_and_cached_per_version():
    x = bag_of_words()
    rows = sparse_rows(x)
    assert rows is not None and rows.layout == torch.sparse_csr
    torch.testing.assert_close(rows.to_dense(), x, rtol=0, atol=0)
    assert sparse_rows(x) is rows  # once per tensor
    x[0, 1] = 0.5  # an in-place change makes a new copy
    again = sparse_rows(x)
    assert again is not rows and again.to_dense()[0, 1] == 0.5
    assert sparse_rows(torch.rand(10, 20)) is None  # dense features
    dense_enough = torch.zeros(10, 20)
    dense_enough[:, : int(SPARSE_INPUT * 20) + 1] = 1.0
    assert sparse_rows(dense_enough) is None
    assert sparse_rows(x.clone().requires_grad_()) is None  # its gradient is wanted
    assert sparse_rows(x.long()) is None and sparse_rows(x[0]) is None
    with torch.inference_mode():
        inference = bag_of_words()
    assert sparse_rows(inference) is not None


def test_sparse_linear_equals_the_dense_linear_and_its_gradients():
    torch.manual_seed(0)
    x, lin = bag_of_words(), nn.Linear(200, 16)
    ref = lin(x)
    ref.square().sum().backward()
    grads = [p.grad.clone() for p in lin.parameters()]
    lin.zero_grad()
    out = sparse_linear(sparse_rows(x), lin, 0.5, training=False)
    out.square().sum().backward()
    torch.testing.assert_close(out, ref)
    for p, g in zip(lin.parameters(), grads):
        torch.testing.assert_close(p.grad, g)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_half_precision_linear_encodes_through_an_fp32_copy(dtype):
    # The CPU's sparse product has no half precision: the copy is fp32, the weights are
    # multiplied in it and the output rounds once to the model's dtype.
    torch.manual_seed(0)
    x, lin = bag_of_words().to(dtype), nn.Linear(200, 16).to(dtype)
    rows = sparse_rows(x)
    assert rows.dtype == torch.float32
    out = sparse_linear(rows, lin, 0.0, training=False)
    ref = (x.float() @ lin.weight.float().t()).to(dtype) + lin.bias
    assert out.dtype == dtype and torch.equal(out, ref)
    out.float().sum().backward()
    assert lin.weight.grad.dtype == dtype and torch.isfinite(lin.weight.grad).all()


def test_sparse_dropout_drops_nonzeros_with_the_dense_distribution():
    torch.manual_seed(0)
    x, p = bag_of_words(), 0.6
    rows, eye = sparse_rows(x), nn.Linear(200, 200, bias=False)
    with torch.no_grad():
        eye.weight.copy_(torch.eye(200))
    draws = torch.stack([sparse_linear(rows, eye, p, training=True) for _ in range(400)])
    kept = draws != 0
    assert not kept[:, x == 0].any()  # a zero stays zero
    nz = x != 0
    # each non-zero is kept with probability 1 - p, scaled by 1 / (1 - p)
    torch.testing.assert_close(draws[kept], (x / (1 - p)).expand_as(draws)[kept])
    assert kept[:, nz].float().mean().item() == pytest.approx(1 - p, abs=0.02)


def test_node_encoder_takes_the_sparse_path_with_the_same_result():
    torch.manual_seed(0)
    x = bag_of_words()
    enc = NodeEncoder(200, 16, input_dropout=0.5).eval()
    edge_index = torch.tensor([[0, 1], [1, 0]])
    h, _, _ = enc(x, edge_index)
    torch.testing.assert_close(h, enc.node(x))
    enc.train()
    h, _, _ = enc(x, edge_index)
    assert not torch.allclose(h, enc.node(x))  # input dropout applied
    h.sum().backward()
    assert enc.node.weight.grad is not None and enc.node.weight.grad.abs().sum() > 0
    # a gradient wanted on the features takes the dense path and reaches them
    xg = x.clone().requires_grad_()
    enc(xg, edge_index)[0].sum().backward()
    assert xg.grad is not None


def test_a_compiled_encoder_encodes_bag_of_words_through_the_csr_copy():
    # Dynamo failed to hold the CSR copy in a traced frame (IndexError in its automatic
    # dynamic strides, on the training step's dropped copy); the sparse encoding runs as
    # written inside the compiled encoder, the same values as the eager one, dropout too.
    torch._dynamo.reset()
    torch.manual_seed(0)
    x = (torch.rand(50, 200) < 0.02).float()
    assert sparse_rows(x) is not None
    encoder = NodeEncoder(200, 8, input_dropout=0.5)
    edge_index = torch.randint(0, 50, (2, 100))
    f = torch.compile(lambda x, e: encoder(x, e)[0])
    for features in (x, x * 2):
        torch.manual_seed(1)
        expected = encoder(features, edge_index)[0]
        torch.manual_seed(1)
        assert torch.allclose(f(features, edge_index), expected, atol=1e-6)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_features_given_as_a_sparse_tensor_encode_as_their_dense_matrix(layout):
    # Denser than SPARSE_INPUT, but sparse already: their own CSR copy, whatever the share.
    torch.manual_seed(0)
    x = (torch.rand(40, 30) < 0.3).float() * torch.rand(40, 30)
    xs = x.to_sparse() if layout == "coo" else x.to_sparse_csr()
    assert sparse_rows(xs) is sparse_rows(xs) and torch.equal(sparse_rows(xs).to_dense(), x)
    enc = NodeEncoder(30, 16).eval()
    edge_index = torch.tensor([[0, 1], [1, 0]])
    torch.testing.assert_close(enc(xs, edge_index)[0], enc.node(x))
    enc.train()
    enc(xs, edge_index)[0].sum().backward()
    dense = enc.node.weight.grad.clone()
    enc.zero_grad()
    enc(x, edge_index)[0].sum().backward()
    torch.testing.assert_close(dense, enc.node.weight.grad)
    # a sparse input that wants its own gradient is made dense and gets it
    xg = xs.clone().requires_grad_()
    enc(xg, edge_index)[0].sum().backward()
    assert xg.grad is not None
