"""Measuring the memory of a run's training steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from revgnn.memory.peak import measure_peak, peak_rss_bytes
from revgnn.training.callback import Callback, Steps
from revgnn.utils.malloc import release_freed_memory, reuse_freed_memory

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["PROFILE_STEPS", "MemoryMonitor"]

#: On CPU the profiled epochs measure their first this many steps (the profiler slows each
#: step down and keeps a record of every allocation).
PROFILE_STEPS = 20


class MemoryMonitor(Callback):
    """The peak memory of the training steps, in ``loop.peak_bytes`` and the epochs' records.

    On CUDA every epoch's peak is read from the allocator at no cost. On CPU the peak of live
    tensor bytes is measured by the profiler (:func:`~revgnn.memory.measure_peak`, about 1.3x
    slower) on the first :data:`PROFILE_STEPS` steps of the second epoch this process trains
    (the first when it trains one; after the first epoch's one-time allocations) and every
    ``memory_every`` epochs; the process's peak RSS is read just before the first profiled
    epoch, since processing the profiler's records takes memory of its own (590 MiB after a
    1000-layer step), or, where that epoch was the first this process trained, at the end of
    its profiled steps, before their records are processed (the records themselves in it,
    20 MiB after that step). Freed
    memory is kept in the heap for the next step (:func:`~revgnn.utils.malloc.
    reuse_freed_memory`: 3x faster aggregation steps), except during profiled epochs.

    Args:
        memory_every (int): Also profile every this many epochs (``0``: only the one).
    """

    order = 30

    def __init__(self, memory_every: int = 0) -> None:
        self.memory_every = memory_every
        self.epoch_peak: int | None = None

    def profiled(self, loop: Loop, epoch: int) -> bool:
        first = min(loop.start + 1, loop.cfg.epochs)
        every = self.memory_every
        return epoch == first or (every > 0 and epoch % every == 0)

    def on_fit_start(self, loop: Loop) -> None:
        if loop.device.type == "cpu":
            reuse_freed_memory()  # no page faults for every step's large temporaries

    def wrap_steps(self, loop: Loop, epoch: int, steps: Steps, batches: Sequence[Any]) -> tuple:
        self.epoch_peak = None
        cuda = loop.device.type == "cuda"
        if not (cuda or self.profiled(loop, epoch)):
            return steps(batches)
        before_any_step = False
        if not cuda:
            if loop.peak_rss_bytes is None:  # from here on the profiler's records count
                loop.peak_rss_bytes = peak_rss_bytes()
                before_any_step = epoch == loop.start
            release_freed_memory()  # the profiler's records would pin it in a reusing heap
        # The profiler sees only the frees of what it saw allocated: drop the previous step's
        # gradients before it starts.
        loop.optimizers.zero_grad()
        k = len(batches) if cuda else PROFILE_STEPS
        try:
            (total, count), measured = measure_peak(lambda: steps(batches[:k]), loop.device)
        finally:
            if not cuda:
                reuse_freed_memory()
        rest_total, rest_count = steps(batches[k:]) if batches[k:] else (0.0, 0)
        self.epoch_peak = measured.peak_bytes
        if before_any_step:  # that read left training out: the profiled steps' peak instead
            loop.peak_rss_bytes = max(loop.peak_rss_bytes, measured.peak_rss_bytes)
        loop.peak_bytes = max(loop.peak_bytes, measured.peak_bytes)
        return total + rest_total, count + rest_count

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        if self.epoch_peak is not None:
            record["peak_bytes"] = self.epoch_peak
        record["peak_rss_bytes"] = peak_rss_bytes()

    def on_fit_end(self, loop: Loop) -> None:
        if loop.peak_rss_bytes is None:  # no profiled epoch (CUDA, or a resumed finished run)
            loop.peak_rss_bytes = peak_rss_bytes()

    def __repr__(self) -> str:
        return f"MemoryMonitor(memory_every={self.memory_every})"
