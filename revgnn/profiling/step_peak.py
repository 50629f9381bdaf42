"""The peak memory of one training step of a model as it is, and of its non-reversible twin."""

from __future__ import annotations

import copy

import torch
from torch import nn

from revgnn.memory.peak import measure_peak
from revgnn.training.step import train_step
from revgnn.training.task import Task

__all__ = ["step_peak"]


def step_peak(
    model: nn.Module,
    task: Task,
    *,
    device: str | torch.device = "cpu",
    amp: str | None = None,
    reversible: bool | None = None,
    unrolled: bool | None = None,
) -> int:
    """Peak bytes of one training step (forward, loss, backward, Adam step) on the task's first
    training batch, after a warm-up step that allocates Adam's state: on CUDA the allocator's
    peak, on CPU the peak of live tensors (:func:`~revgnn.memory.measure_peak`).

    A copy of ``model`` is stepped, so its weights are not changed; ``reversible`` sets the
    copy's ``reversible`` attribute first (``False``: the same weights with ordinary autograd,
    every activation saved), and ``unrolled`` a DEQ model's (``True``: its cell applied
    ``num_layers`` times as a weight-tied network instead of solved for its fixed point).
    """
    device = torch.device(device)
    net = copy.deepcopy(model).to(device).train()
    if reversible is not None:
        net.reversible = reversible
    if unrolled is not None:
        net.unrolled = unrolled
    task.setup(device, 0)
    batch = task.train_batches(1)[0]
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16")

    def step() -> None:
        train_step(
            net, task, batch, optimizer, scaler, device=device, amp=amp, always_backward=True
        )

    step()
    optimizer.zero_grad(set_to_none=True)
    _, peak = measure_peak(step, device)
    return peak.peak_bytes
