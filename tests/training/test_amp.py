import pytest
import torch

from revgnn.training.amp import autocast


@pytest.mark.parametrize(("amp", "dtype"), [(None, torch.float32), ("bf16", torch.bfloat16)])
def test_autocast_by_name(amp, dtype):
    a = torch.randn(4, 4)
    with autocast(torch.device("cpu"), amp):
        assert (a @ a).dtype == dtype
