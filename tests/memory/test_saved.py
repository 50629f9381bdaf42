import subprocess
import sys

import pytest
import torch
from torch import nn

from revgnn.memory import (
    SavedTensorCounter,
    ctx_attribute_storages,
    live_tensor_bytes,
    measure_peak,
    peak_rss_bytes,
    saved_activation_bytes,
)


def test_saved_tensors_are_deduplicated_by_storage():
    x = torch.randn(1000, 16, requires_grad=True)
    with SavedTensorCounter() as counter:
        y = x.sin()  # saves x
        z = x.cos()  # saves x again: same storage
        w = x.view(16, 1000).exp()  # saves its output: a new storage of the same size
    assert counter.num_saved == 3
    assert counter.bytes == 2 * 1000 * 16 * 4
    del y, z, w


def test_parameters_and_buffers_are_excluded():
    lin = nn.Linear(64, 64)
    x = torch.randn(500, 64)
    _, saved = saved_activation_bytes(lambda: lin(x).relu(), exclude=[lin])
    # The input of the Linear and the ReLU output; the weight is excluded.
    assert saved.total == 2 * 500 * 64 * 4


class _KeepsAttribute(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.kept = x.clone()  # invisible to saved_tensors_hooks, like PyG's InvertibleFunction
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_tensors_kept_on_the_autograd_context_are_counted():
    x = torch.randn(300, 10, requires_grad=True)
    out, saved = saved_activation_bytes(lambda: _KeepsAttribute.apply(x))
    assert saved.by_hooks == 0
    assert saved.by_ctx_attributes == 300 * 10 * 4
    assert saved.total == saved.by_ctx_attributes
    assert len(ctx_attribute_storages(out)) == 1


def test_measure_peak_sees_a_transient_allocation_on_cpu():
    def step():
        big = torch.ones(4_000_000)  # 16 MB, freed before returning
        return big.sum()

    out, peak = measure_peak(step)
    assert out.item() == 4_000_000
    assert peak.device == "cpu"
    assert 16_000_000 <= peak.step_bytes < 17_000_000
    assert peak.peak_bytes == peak.baseline_bytes + peak.step_bytes
    assert peak.peak_rss_bytes >= 16_000_000


def test_live_tensor_bytes_counts_a_new_tensor():
    before = live_tensor_bytes()
    keep = torch.zeros(1_000_000)
    assert live_tensor_bytes() - before >= 4_000_000
    del keep
    assert peak_rss_bytes() > 0


_FREED_BLOCKS = """
import ctypes, os, sys
import torch
from revgnn.memory import mmap_large_blocks

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

if sys.argv[1] == "mmap":
    assert mmap_large_blocks()
# Freeing an mmap'ed 8 MiB block raises glibc's dynamic threshold: 4 MiB blocks then come
# from the heap, as the tensors of a training step do after its first steps.
warm = torch.ones(2 << 20)
del warm
# 4 MiB tensors, each followed by a 256 KiB block that stays (as the profiler's records do):
# freed, the tensors are holes in the heap that glibc cannot give back.
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
big, pins = [], []
for _ in range(64):
    big.append(torch.ones(1 << 20))
    pins.append(libc.malloc(256 << 10))
before = rss()
del big
print((before - rss()) >> 20)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_mmap_large_blocks_returns_freed_tensor_memory_to_the_system():
    def released(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _FREED_BLOCKS, mode], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())

    # 64 blocks of 4 MiB: with large blocks mmap'ed all 256 MiB go back at once; without,
    # the small blocks allocated after each large one pin them in the heap.
    assert released("mmap") >= 250
    assert released("plain") < 50
