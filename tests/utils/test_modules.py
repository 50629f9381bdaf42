import pytest
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


class _KeepsNormFrozen(nn.Module):
    """Overrides ``train``: its BatchNorm stays in evaluation mode (a frozen backbone)."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(3)
        self.lin = nn.Linear(3, 3)
        self.calls = []

    def train(self, mode: bool = True):
        self.calls.append(mode)
        super().train(mode)
        self.norm.eval()
        return self


class _CountsFlagWrites(nn.Linear):
    """Overrides ``__setattr__``: counts its ``training`` writes (a hook the fast path must
    not skip)."""

    def __setattr__(self, name, value):
        if name == "training":
            self.__dict__["writes"] = self.__dict__.get("writes", 0) + 1
        super().__setattr__(name, value)


def _model():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(
        nn.Sequential(shared, nn.ReLU(), nn.Dropout(0.5)),
        _KeepsNormFrozen(),
        nn.ModuleList([shared, nn.Sequential(nn.Linear(3, 3), _CountsFlagWrites(3, 3))]),
    )
    model.register_module("absent", None)
    return model


@pytest.mark.parametrize("start", [True, False])
def test_set_training_sets_the_flags_that_module_train_sets(start):
    from revgnn.utils.modules import set_training

    for mode in (True, False, True):
        ours, theirs = _model().train(start), _model().train(start)
        assert set_training(ours, mode) is ours
        theirs.train(mode)
        assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
        assert ours[1].calls[-1] is mode  # the override ran, and kept its norm frozen
        assert not ours[1].norm.training
        counted = ours[2][1][1]
        assert counted.writes == 2  # by .train(start), then by set_training: both through it
    with pytest.raises(ValueError, match="mode=1"):
        set_training(_model(), 1)
