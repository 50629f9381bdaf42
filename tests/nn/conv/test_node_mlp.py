import torch
from torch import nn

from revgnn.nn.conv import NodeMLP
from tests.helpers import random_graph


def test_the_graph_is_ignored_and_widths_are_as_asked():
    torch.manual_seed(0)
    mlp = NodeMLP(6, 4, norm="layer", expansion=3)
    x = torch.randn(10, 6)
    out = mlp(x, random_graph(10, 40), edge_attr=torch.randn(40, 2))
    assert out.shape == (10, 4)
    assert torch.equal(out, mlp(x, None))
    widths = [m.out_features for m in mlp.modules() if isinstance(m, nn.Linear)]
    assert widths == [12, 4]
    assert repr(mlp) == "NodeMLP(6, 4)"
