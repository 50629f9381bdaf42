"""Resetting modules and undoing their buffer updates."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["reset_module", "restore_buffers"]


def reset_module(module: nn.Module) -> None:
    """Re-initialise ``module`` and, where it has no ``reset_parameters``, its children."""
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    for child in module.children():
        reset_module(child)


@contextlib.contextmanager
def restore_buffers(module: nn.Module) -> Iterator[None]:
    """Undo in-place buffer updates (BatchNorm running statistics) made inside the context.

    Recomputations (reversible blocks, solver iterations) must not move the statistics that
    the step's one real forward pass updates.
    """
    buffers = list(module.buffers()) if module.training else []
    saved = [b.clone() for b in buffers]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, s in zip(buffers, saved):
                b.copy_(s)
