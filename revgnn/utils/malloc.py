"""The C allocator's policy for large blocks (glibc): reuse freed memory, or return it at once.

PyTorch's CPU tensors come from ``malloc``. glibc serves large blocks (above a threshold that
adapts up to 32 MiB) by ``mmap`` and unmaps them when freed, so every fresh :math:`E \\times D`
temporary of an aggregation faults its pages in again: on one CPU thread, a GENConv layer's
forward and backward pass on 491,722 edges x 32 channels spent two thirds of its 1.04 s
there (0.34 s with freed memory reused; PyG's GENConv 1.44 s -> 0.63 s). PyTorch's own advice
for CPU speed is a caching allocator (jemalloc, tcmalloc); :func:`reuse_freed_memory` gets the
same effect from glibc: blocks up to ``threshold`` come from the heap and freed memory stays
there for the next step. The process's RSS then stays at its high-water mark instead of
shrinking between steps (its peak is the same, up to fragmentation).

:func:`release_freed_memory` is the opposite (blocks of 1 MiB or more by ``mmap``, returned
at once): what the CPU profiler needs, whose many small records would otherwise pin freed
tensor memory inside the heap.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["release_freed_memory", "reuse_freed_memory"]

_M_TRIM_THRESHOLD = -1  # mallopt parameters, glibc's malloc.h
_M_MMAP_THRESHOLD = -3


def _mallopt(param: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(param, value))
    except (OSError, AttributeError):
        return False  # not glibc


def reuse_freed_memory(threshold: int = 1 << 30) -> bool:
    """Serve blocks below ``threshold`` bytes from the heap and keep freed memory there (see
    the module docstring). Does nothing when the environment variable
    ``REVGNN_REUSE_FREED_MEMORY=0`` is set. Returns whether the policy was set (``False`` off
    Linux or without glibc)."""
    if os.environ.get("REVGNN_REUSE_FREED_MEMORY", "1") == "0":
        return False
    return _mallopt(_M_MMAP_THRESHOLD, threshold) and _mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)


def release_freed_memory(threshold: int = 1 << 20) -> bool:
    """Serve blocks of ``threshold`` bytes or more by ``mmap``, so that freeing them returns
    the memory to the system at once. Returns whether the policy was set."""
    return _mallopt(_M_MMAP_THRESHOLD, threshold) and _mallopt(_M_TRIM_THRESHOLD, 128 * 1024)
