"""The CPU threads torch runs a command's work on."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

__all__ = ["torch_threads", "usable_cores"]


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block on ``threads`` torch CPU threads (``0``: torch's choice, unchanged), and
    restore the previous number afterwards (commands also run in-process: tests, notebooks).

    More threads than :func:`usable_cores` is a ``ValueError``: they would take turns on the
    cores, slower than one thread a core, which is never what was asked for.
    """
    cores = usable_cores()
    if threads > cores:
        raise ValueError(
            f"threads={threads} is more than the {cores} CPU cores this process may use (the "
            f"threads would take turns on them, slower): use {cores} or fewer, or 0 for "
            "torch's choice"
        )
    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
