import pytest
import torch
from torch import nn

from revgnn import GroupAddRev
from revgnn.nn.rev_stack import RevStack, check_channels
from revgnn.nn.reversible_function import reconstruction_error


class Lin(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.lin = nn.Linear(c, c)

    def forward(self, x, edge_index):
        return self.lin(x).tanh()


def test_snapshots_are_taken_every_k_blocks_and_bound_the_drift():
    blocks = [GroupAddRev(Lin(4), num_groups=2) for _ in range(9)]
    x = torch.randn(3, 8)
    stack = RevStack(blocks, x, None, [], {}, torch.float32, snapshot_every=4)
    assert stack.snapshot_layers() == [4, 8]
    assert RevStack(blocks, x, None, [], {}, torch.float32).snapshot_layers() == []
    # With a snapshot at every block only the first block's inverse is left to drift.
    every = reconstruction_error(blocks, x, None, [], {}, torch.float32, snapshot_every=1)
    first = reconstruction_error(blocks[:1], x, None, [], {}, torch.float32)
    assert every == first < reconstruction_error(blocks, x, None, [], {}, torch.float32)


def test_channel_and_input_checks():
    with pytest.raises(ValueError, match="num_groups=3 must divide channels=8"):
        check_channels(8, 3)
    block = GroupAddRev(Lin(4), num_groups=2)
    with pytest.raises(ValueError, match=r"x must have shape \[num_nodes, channels\]"):
        RevStack([block], torch.randn(8), None, [], {}, torch.float64)
    with pytest.raises(TypeError, match="x must be a floating-point tensor"):
        RevStack([block], torch.ones(3, 8, dtype=torch.long), None, [], {}, torch.float64)
