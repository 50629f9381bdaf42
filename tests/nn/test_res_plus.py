import torch
from torch import nn

from revgnn.nn import ResPlus


class Scale(nn.Module):
    def forward(self, x, edge_index, factor, **kwargs):
        return factor * x + kwargs.get("shift", 0.0)


def test_output_is_input_plus_the_function_with_its_arguments():
    x = torch.randn(5, 3)
    block = ResPlus(Scale())
    assert torch.equal(block(x, None, 2.0), x + 2.0 * x)
    assert torch.equal(block(x, None, 0.5, shift=1.0), x + (0.5 * x + 1.0))
