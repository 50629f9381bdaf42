import pytest
import torch
import torch.nn.functional as F

from revgnn.models import Head


def test_pre_activation_then_linear_or_linear_alone():
    torch.manual_seed(0)
    head = Head(6, 3, norm="layer", dropout=0.5).eval()
    h = torch.randn(4, 6)
    assert torch.allclose(head(h), head.lin(F.relu(head.norm(h))))
    head.train()
    assert not torch.allclose(head(h), head.lin(F.relu(head.norm(h))))
    plain = Head(6, 3, pre_activation=False)
    assert plain.norm is None and torch.allclose(plain(h), plain.lin(h))


def test_init_bias_sets_the_linear_bias_and_checks_its_shape():
    head = Head(8, 3, norm=None)
    head.init_bias(torch.tensor([-1.0, 0.0, 2.0]))
    assert head.lin.bias.tolist() == [-1.0, 0.0, 2.0] and head.lin.bias.requires_grad
    with pytest.raises(ValueError, match=r"bias of shape \(2,\) does not fit the head's "
                       "out_channels=3"):  # fmt: skip
        head.init_bias(torch.zeros(2))
