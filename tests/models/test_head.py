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
