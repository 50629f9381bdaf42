r"""Measuring the memory of GNN training: saved activations and peak bytes.

Two figures, as the RevGNN paper's claims are about both:

* **Saved-activation bytes** of one forward pass: every tensor autograd keeps for the backward
  pass, counted through :func:`torch.autograd.graph.saved_tensors_hooks` and deduplicated by
  storage, plus tensors that custom autograd Functions keep as plain attributes of their
  context (found by walking the autograd graph from the outputs). Parameters and buffers are
  excluded. Deterministic and machine-independent: this is the figure that is
  :math:`O(LND)` for a plain deep GNN and :math:`O(ND)` for a reversible one.
* **Peak bytes** of a training step: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the
  peak of live tensor bytes, i.e. the bytes live when the step starts plus the highest running
  sum of the profiler's allocation and free events during the step. Peak RSS of the process is
  reported as well (meaningful in a fresh process only: the allocator keeps freed memory).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import resource
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "PeakMemory",
    "SavedBytes",
    "SavedTensorCounter",
    "live_tensor_bytes",
    "measure_peak",
    "mmap_large_blocks",
    "peak_rss_bytes",
    "saved_activation_bytes",
]


def _storage_key(t: Tensor) -> tuple[str, int]:
    s = t.untyped_storage()
    return (str(t.device), s.data_ptr())


def _storage_keys(tensors: Iterable[Tensor]) -> set[tuple[str, int]]:
    return {_storage_key(t) for t in tensors}


def exclusions(*modules: nn.Module) -> set[tuple[str, int]]:
    """Storage keys of the parameters, gradients and buffers of ``modules``."""
    keys: set[tuple[str, int]] = set()
    for m in modules:
        for p in m.parameters():
            keys.add(_storage_key(p))
            if p.grad is not None:
                keys.add(_storage_key(p.grad))
        keys |= _storage_keys(m.buffers())
    return keys


class SavedTensorCounter:
    """Counts the bytes of tensors saved for backward while the context is active.

    Each storage is counted once, whole (a saved view keeps its entire storage alive).

    Args:
        exclude (iterable of nn.Module or Tensor, optional): Parameters, buffers (all of a
            module's) or other tensors whose storages are not activations.
    """

    def __init__(self, exclude: Iterable[nn.Module | Tensor] = ()) -> None:
        self.excluded: set[tuple[str, int]] = set()
        for e in exclude:
            if isinstance(e, nn.Module):
                self.excluded |= exclusions(e)
            else:
                self.excluded.add(_storage_key(e))
        self.storages: dict[tuple[str, int], int] = {}
        self.num_saved = 0
        self._hooks: Any = None

    def _pack(self, t: Tensor) -> Tensor:
        self.num_saved += 1
        if t.layout == torch.strided and t.device.type != "meta":
            key = _storage_key(t)
            if key not in self.excluded:
                self.storages[key] = t.untyped_storage().nbytes()
        return t

    def __enter__(self) -> SavedTensorCounter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)

    @property
    def bytes(self) -> int:
        return sum(self.storages.values())


def _tensors_in(obj: Any, depth: int = 0) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)) and depth < 3:
        for o in obj:
            yield from _tensors_in(o, depth + 1)
    elif isinstance(obj, dict) and depth < 3:
        for o in obj.values():
            yield from _tensors_in(o, depth + 1)


def ctx_attribute_storages(outputs: Any) -> dict[tuple[str, int], int]:
    """Storages that custom autograd Functions keep as attributes of their context.

    Walks the autograd graph from ``outputs`` (a tensor or nested list/tuple/dict of them).
    Such tensors are invisible to saved-tensor hooks (PyG's ``InvertibleFunction`` keeps its
    inputs and outputs this way).
    """
    found: dict[tuple[str, int], int] = {}
    stack = [t.grad_fn for t in _tensors_in(outputs) if t.grad_fn is not None]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            for value in vars(node).values():
                for t in _tensors_in(value):
                    if t.layout == torch.strided:
                        found[_storage_key(t)] = t.untyped_storage().nbytes()
        stack.extend(fn for fn, _ in node.next_functions)
    return found


@dataclass
class SavedBytes:
    """Saved-activation bytes of one forward pass."""

    total: int
    by_hooks: int
    by_ctx_attributes: int
    num_saved: int


def saved_activation_bytes(
    fn: Callable[[], Any], exclude: Iterable[nn.Module | Tensor] = ()
) -> tuple[Any, SavedBytes]:
    """Run ``fn()`` (a forward pass) and count what it keeps for the backward pass.

    Returns ``fn``'s result (keep it alive until you have read the figure, and use it for the
    backward pass if you need one) and a :class:`SavedBytes`.

    Example::

        out, saved = saved_activation_bytes(lambda: model(x, edge_index), exclude=[model])
        print(saved.total)
    """
    counter = SavedTensorCounter(exclude)
    with counter:
        out = fn()
    extra = {
        k: v
        for k, v in ctx_attribute_storages(out).items()
        if k not in counter.storages and k not in counter.excluded
    }
    by_ctx = sum(extra.values())
    return out, SavedBytes(counter.bytes + by_ctx, counter.bytes, by_ctx, counter.num_saved)


def live_tensor_bytes() -> int:
    """Bytes of the distinct storages of all tensors reachable from Python objects (CPU)."""
    seen: dict[tuple[str, int], int] = {}
    for obj in gc.get_objects():
        # type(), not isinstance(): isinstance reads __class__, which lazy module proxies
        # answer with deprecation warnings.
        if not issubclass(type(obj), Tensor):
            continue
        if obj.layout == torch.strided and obj.device.type == "cpu":
            seen[_storage_key(obj)] = obj.untyped_storage().nbytes()
    return sum(seen.values())


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


_M_MMAP_THRESHOLD = -3  # mallopt parameter, glibc's malloc.h


def mmap_large_blocks(threshold: int = 1 << 20) -> bool:
    """glibc only: from now on serve allocations of ``threshold`` bytes or more by ``mmap``,
    so that freeing them returns the memory to the system at once.

    Call it after reading :func:`peak_rss_bytes` and before :func:`measure_peak` on CPU. The
    profiler's bookkeeping (many small blocks allocated between the tensors of a step)
    otherwise pins freed tensor memory in glibc's heap: profiling one step of a 56-layer RevGNN
    added 1.6 GB of RSS (+28 MB a layer), enough to stop a 1001-layer profile at any sane
    memory limit. The bytes measured are unchanged (the profiler reports the tensors'
    allocations, not the heap); the allocation policy of the rest of the process is not.

    Returns:
        bool: whether the policy was set (``False`` off Linux or without glibc).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False  # not glibc


@dataclass
class PeakMemory:
    """Peak memory of a measured call.

    ``peak_bytes`` is the highest number of live tensor bytes during the call (on CUDA: the
    allocator's), ``baseline_bytes`` those live when it started, ``step_bytes`` their
    difference. ``peak_rss_bytes`` is the process's peak RSS so far (CPU memory, all of it).
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

    On CPU this runs ``fn`` under ``torch.profiler`` with memory profiling (about 1.5x slower);
    measure one representative step, not a whole training run.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
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
    try:
        out = fn()
    finally:
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
    return out, PeakMemory("cpu", baseline + step, baseline, step, peak_rss_bytes())
