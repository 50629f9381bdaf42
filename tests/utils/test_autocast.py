import torch

from revgnn.utils import AutocastState, autocast_disabled


def test_captured_state_is_reentered_and_can_be_switched_off():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        state = AutocastState.capture(torch.device("cpu"))
        with autocast_disabled(["cpu"]):
            assert (a @ b).dtype == torch.float32
    assert state.enabled == (True,) and state.dtypes == (torch.bfloat16,)
    assert (a @ b).dtype == torch.float32  # outside: off
    with state.enter():
        assert (a @ b).dtype == torch.bfloat16
    off = AutocastState.capture(torch.device("cpu"))
    with off.enter():
        assert (a @ b).dtype == torch.float32
