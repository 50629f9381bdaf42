import torch

from revgnn.nn.rev_args import RevArgs


def test_positional_tensors_of_the_block_width_are_split_the_rest_shared():
    mask, other, kw = torch.randn(4, 6), torch.randn(4, 5), torch.randn(7, 6)
    lifted = RevArgs.lift([mask, other, 3], {"edge_attr": kw}, channels=6)
    assert lifted.chunked == [True, False, False]  # keyword tensors are never split
    groups = lifted.per_group(lifted.tensors, 2)
    args, kwargs = lifted.build(groups[1])
    assert torch.equal(args[0], mask[:, 3:]) and args[1] is other and args[2] == 3
    assert kwargs["edge_attr"] is kw
