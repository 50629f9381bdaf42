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


def test_leaves_share_unsplit_tensors_and_view_the_gradient_buffers():
    mask, other = torch.randn(4, 6), torch.randn(4, 5)
    lifted = RevArgs.lift([mask, other], {}, channels=6)
    leaves, grads, views = lifted.leaves(2, with_grad=True, needs_grad=[True, True])
    assert leaves[0][1] is leaves[1][1] and leaves[0][1].requires_grad  # one shared leaf
    assert torch.equal(leaves[1][0], mask[:, 3:]) and leaves[1][0].requires_grad
    assert grads[0].shape == mask.shape and views[1][0].data_ptr() == grads[0][:, 3:].data_ptr()
    views[1][0].add_(1.0)  # a group's gradient lands in its chunk of the full buffer
    assert grads[0][:, 3:].eq(1).all() and grads[0][:, :3].eq(0).all()
    leaves, grads, views = lifted.leaves(2, with_grad=True, needs_grad=[False, True])
    assert grads[0] is None and views[0][0] is None and not leaves[0][0].requires_grad
    leaves, grads, _ = lifted.leaves(2, with_grad=False, needs_grad=[True, True])
    assert grads == [None, None] and not leaves[0][1].requires_grad
