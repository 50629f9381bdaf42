import pytest
import torch

from revgnn import SharedDropout


def test_one_scaled_mask_per_call_none_in_eval():
    torch.manual_seed(0)
    drop = SharedDropout(0.25)
    like = torch.empty(400, 50)
    mask = drop(like)
    assert mask.shape == like.shape
    assert set(mask.unique().tolist()) == {0.0, torch.tensor(1 / 0.75).item()}  # pre-scaled
    assert 0.2 < (mask == 0).float().mean().item() < 0.3
    assert not torch.equal(drop(like), mask)  # a fresh mask every step
    drop.eval()
    assert drop(like) is None
    assert SharedDropout(0.0)(like) is None
    assert repr(SharedDropout(0.1)) == "SharedDropout(p=0.1)"
    with pytest.raises(ValueError, match=r"p=1.0 must lie in \[0, 1\)"):
        SharedDropout(1.0)
