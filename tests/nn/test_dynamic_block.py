import pytest
import torch

from revgnn.nn.dynamic_block import DynamicBlock


@pytest.mark.parametrize(("block", "width"), [("plain", 6), ("res", 6), ("dense", 10)])
def test_blocks(block, width):
    torch.manual_seed(0)
    blk = DynamicBlock(6, block, growth=4, k=3).eval()
    x = torch.randn(2, 12, 6)
    out = blk(x)
    assert out.shape == (2, 12, width) and blk.out_channels == width
    h = blk.body(x)
    if block == "res":
        want = h + x
    elif block == "dense":
        want = torch.cat([x, h], -1)
    else:
        want = h
    torch.testing.assert_close(out, want)


def test_unknown_block():
    with pytest.raises(ValueError, match="block='rev' is not one of plain, res, dense"):
        DynamicBlock(6, "rev")
    assert DynamicBlock(6, "Dense").block == "dense"
