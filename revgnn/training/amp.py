"""Autocast by its short name."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["AMP_DTYPES", "autocast"]

#: The precisions of ``amp=``.
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, amp: str | None) -> contextlib.AbstractContextManager:
    """``torch.autocast`` in ``"bf16"`` or ``"fp16"`` on ``device``'s type, or nothing."""
    if amp is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])
