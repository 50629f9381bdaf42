import torch
from torch import nn

from revgnn.utils import reset_module, restore_buffers


def test_reset_reaches_children_without_reset_parameters():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2)))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    reset_module(model)
    assert all(not torch.all(p == 7.0) for p in model.parameters() if p.dim() == 2)


def test_buffer_updates_are_undone_in_training_mode_only():
    bn = nn.BatchNorm1d(3)
    before = bn.running_mean.clone()
    with restore_buffers(bn):
        bn(torch.randn(8, 3) + 5.0)
        assert not torch.equal(bn.running_mean, before)
    assert torch.equal(bn.running_mean, before)
    assert bn.num_batches_tracked.item() == 0
