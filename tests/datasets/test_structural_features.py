import math

import torch

from revgnn.datasets.structural_features import structural_features


def test_log_one_plus_degree():
    edge_index = torch.tensor([[0, 0, 0, 1], [1, 2, 3, 0]])
    x = structural_features(edge_index, 5)
    assert x.shape == (5, 1)
    expected = torch.tensor([math.log(4), math.log(2), 0.0, 0.0, 0.0])
    assert torch.allclose(x.view(-1), expected)
