import pytest
import torch
from torch_geometric.nn import SAGEConv

from revgnn import GroupAddRev
from revgnn.nn.group_widths import check_channels

EDGES = torch.tensor([[0, 1], [1, 2]])


def test_the_groups_split_the_channels_evenly():
    with pytest.raises(ValueError, match="num_groups=3 must divide channels=8"):
        check_channels(8, 3)
    check_channels(8, 4)


def test_a_conv_built_for_the_whole_width_is_named_before_torchs_shape_error():
    whole = GroupAddRev(SAGEConv(8, 8), num_groups=2)
    with pytest.raises(ValueError, match=r"a group function \(SAGEConv\) takes in_channels=8, "
                       r"but each of the 2 groups of the 8 channels has 4: build it with "
                       r"in_channels=4"):  # fmt: skip
        whole(torch.randn(3, 8), EDGES)
    assert GroupAddRev(SAGEConv(4, 4), num_groups=2)(torch.randn(3, 8), EDGES).shape == (3, 8)
    lazy = GroupAddRev(SAGEConv(-1, 4), num_groups=2)  # lazy sizes are not checked
    assert lazy(torch.randn(3, 8), EDGES).shape == (3, 8)
