"""Random-number generator state of the CPU and of an accelerator, for exact replays."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["RngState", "get_rng_state", "rng_changed", "set_rng_state"]

#: The CPU generator's state and, off the CPU, the device generator's (or ``None``).
RngState = tuple[Tensor, Tensor | None]


def _device_module(device: torch.device) -> Any | None:
    if device.type == "cpu":
        return None
    module = getattr(torch, device.type, None)
    return module if hasattr(module, "get_rng_state") else None


def get_rng_state(device: torch.device) -> RngState:
    """The states of the generators that code running on ``device`` draws from."""
    module = _device_module(device)
    dev_state = module.get_rng_state(device) if module is not None else None
    return torch.get_rng_state(), dev_state


def set_rng_state(device: torch.device, state: RngState) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    cpu_state, dev_state = state
    torch.set_rng_state(cpu_state)
    if dev_state is not None:
        _device_module(device).set_rng_state(dev_state, device)


def rng_changed(before: RngState, device: torch.device) -> bool:
    """Whether anything drew random numbers since ``before`` was taken."""
    after = get_rng_state(device)
    if not torch.equal(before[0], after[0]):
        return True
    return before[1] is not None and not torch.equal(before[1], after[1])
