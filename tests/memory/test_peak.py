import subprocess
import sys

import pytest
import torch

from revgnn.memory import live_tensor_bytes, measure_peak, peak_rss_bytes


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


def test_the_rss_is_read_before_the_profilers_records_are_processed(monkeypatch):
    from revgnn.memory import peak as module

    # Processing them takes more memory than a deep step itself: they must not count.
    monkeypatch.setattr(module, "peak_rss_bytes", lambda: int(torch.autograd._profiler_enabled()))
    _, peak = measure_peak(lambda: torch.ones(1000).sum())
    assert peak.peak_rss_bytes == 1


def test_only_the_allocations_are_recorded_and_operator_events_come_back_after(monkeypatch):
    made = []

    class Kept(torch.profiler.profile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(torch.profiler, "profile", Kept)

    def step():
        torch.ones(3).sum()
        return torch.ones(4_000_000).sum()

    out, peak = measure_peak(step)
    assert out.item() == 4_000_000 and 16_000_000 <= peak.step_bytes < 17_000_000
    names = {e.name() for e in made[0].profiler.kineto_results.events()}
    assert names == {"[memory]"}
    with torch.profiler.profile() as after:
        torch.ones(3).sum()
    assert any(e.name == "aten::sum" for e in after.events())


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


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_is_the_allocators_peak_above_the_baseline():
    keep = torch.empty(8 << 20, dtype=torch.uint8, device="cuda")

    def step():
        tmp = torch.empty(64 << 20, dtype=torch.uint8, device="cuda")
        return int(tmp.numel())

    out, peak = measure_peak(step, "cuda")
    assert out == 64 << 20 and peak.device == "cuda"
    assert peak.baseline_bytes >= keep.numel()
    assert peak.step_bytes == peak.peak_bytes - peak.baseline_bytes
    assert 64 << 20 <= peak.step_bytes <= (64 << 20) + (2 << 20)
    assert peak.peak_bytes == torch.cuda.max_memory_allocated()
