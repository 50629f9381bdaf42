import torch
from torch import nn

from revgnn.nn.deq import EquilibriumCell


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.seen: dict = {}

    def forward(self, h, edge_index, mask=None, **kwargs):
        self.seen = {"mask": mask, **kwargs}
        return self.lin(h)


def test_injects_the_input_normalises_each_node_and_passes_the_arguments():
    torch.manual_seed(0)
    cell = EquilibriumCell(Block(), 4)
    z, x = torch.randn(6, 4), torch.randn(6, 4)
    mask, edge_attr = torch.ones(6, 4), torch.randn(9, 4)
    out = cell(z, x, None, mask, edge_attr=edge_attr)
    ref = nn.functional.layer_norm(cell.block.lin(z + x), (4,), cell.norm.weight, cell.norm.bias)
    assert torch.allclose(out, ref)
    assert cell.block.seen["mask"] is mask and cell.block.seen["edge_attr"] is edge_attr
    # Bounded state: every node has zero mean and unit variance whatever z is.
    big = cell(1e6 * z, x, None)
    assert torch.allclose(big.mean(-1), torch.zeros(6), atol=1e-5)
