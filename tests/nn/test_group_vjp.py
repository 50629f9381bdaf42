import pytest
import torch
from torch_geometric.nn import SAGEConv

from revgnn.nn import GroupAddRev, PreActConv
from revgnn.nn.conv import pyg_convs
from revgnn.nn.group_vjp import accumulate_vjp, add_input_grad, explicit_call, index_parameters
from revgnn.nn.rev_args import RevArgs
from tests.helpers import random_graph, rel_err

N, E, D = 20, 80, 6


def _setup():
    torch.manual_seed(0)
    block = PreActConv(pyg_convs.gcnii(D, D, None, layer=2, normalize=False), D, norm=None,
                       dropout=0.5, branch_scale=0.25)  # fmt: skip
    adj_t, _ = pyg_convs.gcn_prepare(random_graph(N, E), N, torch.float32)
    initial = torch.randn(N, D)
    # As a stack lifts them: (dropout_mask=None, initial) positional, initial in slot 0; the
    # group's leaves are one per lifted tensor.
    args = RevArgs.lift([None, initial], {}, D)
    return block, adj_t, args, [initial.clone().requires_grad_()]


@pytest.mark.parametrize("explicit", [False, True])
def test_both_paths_accumulate_the_same_gradients_into_the_stacks_buffers(explicit):
    block, adj_t, args, leaves = _setup()
    other = torch.nn.Parameter(torch.randn(3))  # a stack parameter of another group
    params = [other, *block.parameters()]
    x = torch.randn(N, D, requires_grad=True)
    grad_z = torch.randn(N, D)
    torch.manual_seed(3)
    ref_z = block(x, adj_t, *args.build(leaves)[0])
    ref = torch.autograd.grad(ref_z, [x, params[1], leaves[0]], grad_z)
    torch.manual_seed(3)
    if explicit:
        z, backward = explicit_call(block, x.detach(), adj_t, args, leaves)
        assert torch.equal(z, ref_z)
    else:
        z, backward = block(x, adj_t, *args.build(leaves)[0]), None
    param_grads = [torch.zeros_like(p) for p in params]
    arg_grads = [torch.zeros(N, D)]
    g_in, reached = accumulate_vjp(
        z, x, grad_z, backward, params=params, pidx=[1], param_grads=param_grads,
        leaves=leaves, arg_slots=args.arg_slots, arg_grad_views=arg_grads,
    )  # fmt: skip
    assert reached == [1] and not param_grads[0].any()
    for got, want in zip([g_in, param_grads[1], arg_grads[0]], ref, strict=True):
        assert rel_err(got, want) < 1e-6


def test_explicit_call_is_declined_without_an_explicit_pass_or_with_lifted_keywords():
    block, adj_t, args, leaves = _setup()
    x = torch.randn(N, D)
    assert explicit_call(block, x, adj_t, args, leaves) is not None
    plain = PreActConv(SAGEConv(D, D), D, norm=None)
    assert explicit_call(plain.conv, x, adj_t, args, leaves) is None  # no explicit_vjp at all
    assert explicit_call(plain, x, adj_t, RevArgs.lift([], {}, D), []) is None
    keyword = RevArgs.lift([None], {"initial": torch.randn(N, D)}, D)
    assert explicit_call(block, x, adj_t, keyword, [torch.randn(N, D)]) is None


def test_the_input_gradient_goes_to_the_groups_that_fed_the_input():
    gbuf = torch.zeros(3, 4, 2, dtype=torch.float64)
    g = torch.full((4, 2), 0.1)  # fp32, as a group's compute dtype
    add_input_grad(gbuf, 2, g, 1.0)  # X'_2 reads X'_1
    assert gbuf[1].eq(g.double()).all() and not gbuf[0].any() and not gbuf[2].any()
    gbuf.zero_()
    add_input_grad(gbuf, 0, g, 0.5)  # X'_0 = X_1 + X_2: widened, then scaled
    assert not gbuf[0].any() and gbuf[1:].eq(g.double() * 0.5).all()
    add_input_grad(gbuf, 1, None, 1.0)  # no gradient reached the input
    assert not gbuf[0].any()


def test_parameters_are_indexed_once_however_many_groups_or_layers_share_them():
    shared = GroupAddRev(SAGEConv(4, 4), num_groups=2)
    other = GroupAddRev(SAGEConv(4, 4), num_groups=2)
    next(other.convs[1].parameters()).requires_grad_(False)
    params, index = index_parameters([shared, other, shared])
    convs = [*shared.convs, *other.convs]
    per_conv = [[p for p in conv.parameters() if p.requires_grad] for conv in convs]
    assert [id(p) for p in params] == [id(p) for ps in per_conv for p in ps]
    assert [index[id(conv)] for conv in convs] == [
        list(range(a, b)) for a, b in zip([0, 3, 6, 9], [3, 6, 9, 11])
    ]
