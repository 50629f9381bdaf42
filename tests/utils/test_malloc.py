import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import resource, sys, torch
    from revgnn.utils.malloc import release_freed_memory, reuse_freed_memory
    ok = reuse_freed_memory() if sys.argv[1] == "reuse" else release_freed_memory()
    src = torch.randn(16 * 2**20)
    for _ in range(3):  # warm-up: the heap grows to its working size
        y = src * 2
        del y
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        y = src * 2  # a fresh 64 MiB tensor each time
        del y
    print(ok, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_reusing_freed_memory_stops_faulting_pages_in_again():
    def run(policy):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, policy], capture_output=True, text=True, check=True
        ).stdout.split()
        return out[0] == "True", int(out[1])

    reuse_ok, reuse_faults = run("reuse")
    release_ok, release_faults = run("release")
    assert reuse_ok and release_ok
    pages = 20 * 64 * 2**20 // 4096
    assert release_faults > 0.9 * pages  # every block faulted in anew
    assert reuse_faults < 0.25 * pages  # the heap's pages are reused (a few blocks anew at most)


def test_the_environment_turns_it_off(monkeypatch):
    from revgnn.utils.malloc import reuse_freed_memory

    monkeypatch.setenv("REVGNN_REUSE_FREED_MEMORY", "0")
    assert reuse_freed_memory() is False
