import pytest
import torch

from revgnn.nn.dynamic_conv import DynamicConv
from revgnn.nn.knn import dilated_knn


def test_builds_the_graph_of_its_own_input():
    conv = DynamicConv(4, 6, "mr", k=3, dilation=2).eval()
    x = torch.randn(2, 20, 4)
    torch.testing.assert_close(conv(x), conv.conv(x, dilated_knn(x, 3, 2)))


def test_flattened_input_as_a_reversible_stack_passes_it():
    conv = DynamicConv(4, 4, k=3).eval()
    x = torch.randn(2, 20, 4)
    flat = conv(x.reshape(40, 4), None, num_points=20)
    torch.testing.assert_close(flat, conv(x).reshape(40, 4))


def test_a_given_graph_is_used_and_errors_are_named():
    conv = DynamicConv(4, 4, "point_gin", k=3).eval()
    x, edge_index = torch.randn(5, 4), torch.tensor([[0, 1, 2], [1, 2, 3]])
    assert conv(x, edge_index).shape == (5, 4)
    with pytest.raises(ValueError, match="a k-NN graph needs points"):
        conv(x)
    with pytest.raises(ValueError, match="num_points=3 must divide the rows"):
        conv(torch.randn(10, 4), None, num_points=3)
