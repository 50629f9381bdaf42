"""Warnings attributed to the user's line, not to torch's or revgnn's internals."""

from __future__ import annotations

import os
import sys
import warnings

import torch

__all__ = ["warn_user"]

_REVGNN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL = (os.path.dirname(os.path.abspath(torch.__file__)) + os.sep, _REVGNN_DIR + os.sep)


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` with the stack level of the first caller outside torch and revgnn
    (a module's ``forward`` is reached through ``torch.nn.Module.__call__``)."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)
