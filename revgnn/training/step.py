"""One optimiser step: what training runs per batch and what the profiler measures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.training.amp import autocast
from revgnn.training.task import Task

__all__ = ["train_step"]


def train_step(
    model: nn.Module,
    task: Task,
    batch: Any,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    *,
    device: torch.device,
    amp: str | None = None,
    grad_clip: float | None = None,
    label_smoothing: float = 0.0,
    params: Sequence[nn.Parameter] | None = None,
    always_backward: bool = False,
    record_forward: Callable[[Callable[[], Tensor]], Tensor] | None = None,
    extra_loss: Callable[[], Tensor] | None = None,
) -> tuple[Tensor | None, int]:
    """Forward (under autocast), loss, backward, gradient clipping and optimiser step.

    Gradients must be zeroed by the caller (the CPU profiler cannot see the release of memory
    allocated before it started, so a measured step must not free it). A batch without
    training examples is skipped unless ``always_backward`` (a DDP rank must still join the
    gradient all-reduce). ``record_forward(fn)`` runs the forward pass ``fn`` and may measure it
    (the profiler counts its saved activations); ``extra_loss()`` is added to the loss before
    the backward pass (a regulariser, e.g. LC-NAS's latency hinge), not to the reported loss.

    Returns:
        ``(loss, count)``: the detached mean loss (``None`` when skipped) and the number of
        training examples in the batch.
    """
    batch = batch.to(device)
    with autocast(device, amp):
        run = lambda: task.forward(model, batch)  # noqa: E731
        out = record_forward(run) if record_forward is not None else run()
        loss, count = task.loss(out, batch, label_smoothing)
    del out
    if count == 0 and not always_backward:
        return None, 0
    total = loss if extra_loss is None else loss + extra_loss()
    scaler.scale(total).backward()
    if grad_clip is not None:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(params if params is not None else model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach(), count
