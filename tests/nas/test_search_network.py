import pytest
import torch

from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search_network import SearchNetwork
from tests.nas.graphs import ring


def test_edge_weights_are_softmax_one_hot_or_zero_by_decision():
    net = SearchNetwork(3, 4, channels=4, num_cells=1, emb_dims=8)
    net.selected[0] = PRIMITIVES.index("gat")
    net.selected[1] = 0
    w = net.edge_weights()
    assert torch.equal(w[0], torch.nn.functional.one_hot(torch.tensor(5), 10).float())
    assert torch.equal(w[1], torch.zeros(10))
    assert torch.allclose(w[2:], torch.softmax(net.alpha[2:], -1))
    assert torch.allclose(w.sum(-1)[2:], torch.ones(7))


def test_architecture_and_weight_parameters_partition_the_network():
    net = SearchNetwork(3, 4, channels=4, num_cells=2, emb_dims=8)
    arch, weights = net.arch_parameters(), net.weight_parameters()
    assert arch == [net.alpha] and all(p is not net.alpha for p in weights)
    assert len(arch) + len(weights) == len(list(net.parameters()))


def test_point_and_node_networks_predict_per_cloud_and_per_node():
    torch.manual_seed(0)
    points = SearchNetwork(3, 5, channels=4, num_cells=2, k=4, emb_dims=8)
    out = points(torch.randn(2, 16, 3))
    assert out.shape == (2, 5)
    out.sum().backward()
    assert points.alpha.grad is not None and points.alpha.grad.abs().sum() > 0
    nodes = SearchNetwork(6, 3, channels=4, num_cells=1, task="nodes")
    assert nodes(torch.randn(10, 6), ring(10)).shape == (10, 3)
    assert "decided=0/9" in repr(nodes)


def test_wrong_inputs_are_errors_naming_the_task():
    with pytest.raises(ValueError, match="task='points' takes clouds"):
        SearchNetwork(3, 5, channels=4, num_cells=1)(torch.randn(16, 3))
    with pytest.raises(ValueError, match="task='nodes' takes node features"):
        SearchNetwork(3, 5, channels=4, num_cells=1, task="nodes")(torch.randn(16, 3))
    with pytest.raises(ValueError, match="task='edges' is not one of points, nodes"):
        SearchNetwork(3, 5, task="edges")
