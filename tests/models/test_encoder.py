import pytest
import torch

from revgnn.models import NodeEncoder
from revgnn.nn.conv.pyg_convs import gcn_prepare
from tests.helpers import random_graph


def test_encodes_checks_once_and_runs_the_shared_preprocessing():
    torch.manual_seed(0)
    enc = NodeEncoder(5, 8, edge_dim=3, input_dropout=0.5, prepare=gcn_prepare).eval()
    edge_index = torch.unique(random_graph(10, 40), dim=1)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    e = edge_index.size(1)
    x, edge_attr = torch.randn(10, 5), torch.randn(e, 3)
    h, ei, kwargs = enc(x, edge_index.int(), edge_attr)
    assert torch.allclose(h, enc.node(x))  # no dropout in evaluation
    order = torch.sort(edge_index[1], stable=True).indices  # edges put in target order
    assert torch.allclose(kwargs["edge_attr"], enc.edge(edge_attr[order]))
    # GCN's normalised adjacency with self-loops, once for every layer, as a CSR adj_t.
    assert (
        ei.layout == torch.sparse_csr
        and ei._nnz() == e + 10
        and kwargs == {"edge_attr": kwargs["edge_attr"]}
    )
    degree = torch.bincount(edge_index[1], minlength=10) + 1.0
    assert torch.allclose(ei.to_dense().diagonal(), 1.0 / degree)
    enc.train()
    assert not torch.allclose(enc(x, edge_index, edge_attr)[0], h)


def test_edges_come_out_in_target_order_with_their_features_and_sorted_once():
    enc = NodeEncoder(5, 8, edge_dim=3).eval()
    x, edge_index = torch.randn(10, 5), random_graph(10, 40)
    edge_attr = torch.arange(40.0).view(40, 1).expand(40, 3)
    _, ei, kwargs = enc(x, edge_index, edge_attr)
    assert bool((ei[1][1:] >= ei[1][:-1]).all())
    ids = ((kwargs["edge_attr"] - enc.edge.bias) @ torch.linalg.pinv(enc.edge.weight.T))[:, 0]
    torch.testing.assert_close(ei, edge_index[:, ids.round().long()])  # features follow edges
    again = enc(x, edge_index, edge_attr)[1]
    assert again is ei  # the sorted graph is cached: the layers share one entry


def test_errors_name_what_is_wrong():
    enc = NodeEncoder(5, 8, edge_dim=3)
    x, edge_index = torch.randn(10, 5), random_graph(10, 30)
    with pytest.raises(ValueError, match="edge_attr must be given exactly when"):
        enc(x, edge_index)
    with pytest.raises(ValueError, match="edge_attr has 7 rows but edge_index has 30 edges"):
        enc(x, edge_index, torch.randn(7, 3))
    with pytest.raises(
        ValueError, match=r"edge_attr must have shape \[num_edges, 3\] \(edge_dim\), got \[30, 5\]$"
    ):
        enc(x, edge_index, torch.randn(30, 5))
    with pytest.raises(
        ValueError, match=r"got \[30\] \(one weight per edge: edge_attr.view\(-1, 1\)\)"
    ):
        NodeEncoder(5, 8, edge_dim=1)(x, edge_index, torch.randn(30))
    with pytest.raises(ValueError, match="refers to node 10 but there are 10 nodes"):
        enc(x, torch.tensor([[0], [10]]), torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"input_dropout=1.5 must lie in \[0, 1\)"):
        NodeEncoder(5, 8, input_dropout=1.5)


def test_features_must_be_floats_of_the_weights_dtype_unless_autocast_casts_them():
    enc = NodeEncoder(5, 8, edge_dim=3)
    x, edge_index, edge_attr = torch.randn(10, 5), random_graph(10, 30), torch.randn(30, 3)
    with pytest.raises(TypeError, match=r"x must hold floating-point features, got "
                       r"torch.int64: convert it with x.to\(torch.float32\)"):  # fmt: skip
        enc(x.long(), edge_index, edge_attr)
    with pytest.raises(TypeError, match=r"edge_attr must hold floating-point features, got "
                       r"torch.bool"):  # fmt: skip
        enc(x, edge_index, edge_attr > 0)
    with pytest.raises(TypeError, match=r"x is torch.float64 but the model's weights are "
                       r"torch.float32: convert it with x.to\(torch.float32\), or the model "
                       r"with model.to\(torch.float64\)"):  # fmt: skip
        enc(x.double(), edge_index, edge_attr)
    assert enc.double()(x.double(), edge_index, edge_attr.double())[0].dtype == torch.float64
    enc.float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert enc(x, edge_index, edge_attr)[0].dtype == torch.bfloat16
        assert enc(x.half(), edge_index, edge_attr)[0].dtype == torch.bfloat16
        with pytest.raises(TypeError, match=r"x is torch\.float64"):  # autocast keeps float64
            enc(x.double(), edge_index, edge_attr)
