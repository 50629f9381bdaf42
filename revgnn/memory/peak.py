r"""Peak memory of a training step, and the process's resident set.

On CUDA ``torch.cuda.max_memory_allocated``; on CPU the peak of live tensor bytes, i.e. the
bytes live when the step starts plus the highest running sum of the profiler's allocation and
free events during the step. Peak RSS of the process is reported as well (meaningful in a fresh
process only: the allocator keeps freed memory).
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor
from torch._subclasses.fake_tensor import FakeTensor

from revgnn.memory.cuda_workspace import clear_workspaces
from revgnn.memory.saved import storage_key
from revgnn.utils.malloc import release_freed_memory

__all__ = [
    "PeakMemory",
    "live_tensor_bytes",
    "measure_peak",
    "mmap_large_blocks",
    "peak_rss_bytes",
]


def live_tensor_bytes() -> int:
    """Bytes of the distinct storages of all tensors reachable from Python objects (CPU)."""
    seen: dict[tuple[str, int], int] = {}
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance reads __class__, which lazy module proxies
        # answer with deprecation warnings.
        if not issubclass(type(obj), Tensor) or issubclass(type(obj), FakeTensor):
            continue  # the fake tensors torch.compile leaves behind own no memory
        if obj.layout == torch.strided and obj.device.type == "cpu":
            try:
                key = storage_key(obj)
            except RuntimeError:  # other tensors without storage
                continue
            seen[key] = obj.untyped_storage().nbytes()
    return sum(seen.values())


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def mmap_large_blocks(threshold: int = 1 << 20) -> bool:
    """glibc only: from now on serve allocations of ``threshold`` bytes or more by ``mmap``,
    so that freeing them returns the memory to the system at once
    (:func:`revgnn.utils.malloc.release_freed_memory`).

    Call it after reading :func:`peak_rss_bytes` and before :func:`measure_peak` on CPU. The
    profiler's bookkeeping (many small blocks allocated between the tensors of a step)
    otherwise pins freed tensor memory in glibc's heap: profiling one step of a 56-layer RevGNN
    added 1.6 GB of RSS (+28 MB a layer), enough to stop a 1001-layer profile at any sane
    memory limit. The bytes measured are unchanged (the profiler reports the tensors'
    allocations, not the heap); the allocation policy of the rest of the process is not.

    Returns:
        bool: whether the policy was set (``False`` off Linux or without glibc).
    """
    return release_freed_memory(threshold)


@dataclass
class PeakMemory:
    """Peak memory of a measured call.

    ``peak_bytes`` is the highest number of live tensor bytes during the call (on CUDA: the
    allocator's), ``baseline_bytes`` those live when it started, ``step_bytes`` their
    difference. ``peak_rss_bytes`` is the process's peak RSS at the end of the call (CPU memory,
    all of it; on CPU the profiler's records of the call in it, read before they are processed).
    """

    device: str
    peak_bytes: int
    baseline_bytes: int
    step_bytes: int
    peak_rss_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextlib.contextmanager
def _quiet_fd2() -> Iterator[None]:
    # Kineto writes "profiler_start/stop" lines straight to file descriptor 2.
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def measure_peak(
    fn: Callable[[], Any], device: torch.device | str = "cpu"
) -> tuple[Any, PeakMemory]:
    """Run ``fn()`` and measure the peak of live tensor bytes on ``device``.

    On CPU this runs ``fn`` under ``torch.profiler``, which records its allocations only (about
    1.3x slower); measure one representative step, not a whole training run. On CUDA,
    PyTorch's cuBLAS workspaces are freed first
    (:func:`~revgnn.memory.cuda_workspace.clear_workspaces`), so the peak counts those the
    step makes, the first step of a process or a later one alike.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        clear_workspaces()  # the step's own, made again inside it, whichever step it is
        baseline = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        out = fn()
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        return out, PeakMemory("cuda", peak, baseline, peak - baseline, peak_rss_bytes())

    from torch.profiler import ProfilerActivity, profile

    gc.collect()
    baseline = live_tensor_bytes()
    with _quiet_fd2():
        prof = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
        prof.start()
    # Only the allocations' events are read. Without an event per operator, a 1000-layer
    # RevGNN step's records took 20 MiB of RSS instead of 375 and their processing 2.6 s
    # instead of 13 s; the allocations, and so the peak, are the same.
    torch.autograd._enable_record_function(False)
    try:
        out = fn()
        # Before stop(): processing the records there takes more memory than the step did
        # (590 MiB after that step).
        rss = peak_rss_bytes()
    finally:
        torch.autograd._enable_record_function(True)
        with _quiet_fd2():
            prof.stop()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
    )
    running = step = 0
    for _, nbytes in events:
        running += nbytes
        step = max(step, running)
    return out, PeakMemory("cpu", baseline + step, baseline, step, rss)
