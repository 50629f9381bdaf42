"""Warnings attributed to the user's line, not to torch's or revgnn's internals."""

from __future__ import annotations

import os
import sys
import warnings

import torch

__all__ = ["warn_user"]

_REVGNN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INTERNAL = (os.path.dirname(os.path.abspath(torch.__file__)) + os.sep, _REVGNN_DIR + os.sep)
_SHOWN: set[tuple[str, str, int]] = set()


def warn_user(message: str, category: type[Warning] = UserWarning, once: bool = False) -> None:
    """``warnings.warn`` with the stack level of the first caller outside torch and revgnn
    (a module's ``forward`` is reached through ``torch.nn.Module.__call__``). With ``once``,
    a message is given once per calling line, whatever the warning filters (a loop over a
    thousand blocks warns once)."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        frame = frame.f_back
        level += 1
    if once and frame is not None:
        key = (message, frame.f_code.co_filename, frame.f_lineno)
        if key in _SHOWN:
            return
        _SHOWN.add(key)
    warnings.warn(message, category, stacklevel=level)
