import pytest
import torch

# The suite's graphs are tiny: one thread is faster than two fighting over them, and it keeps
# the timing of CI stable when other processes share the cores.
torch.set_num_threads(1)

# Compiling every kernel variant the suite touches would cost minutes per worker; the compiled
# kernels have their own tests (tests/nn/aggr/test_fused.py, tests/utils/test_compile.py),
# which switch compilation on, against the eager path everything else runs.
from revgnn.utils.compile import set_compile  # noqa: E402

set_compile(False)


@pytest.fixture
def compiled():
    """Compilation on for one test (the compiled kernels' own tests), from an empty dynamo
    cache: a test that counts compilations then counts its own, not the graphs that earlier
    tests of the same worker left for it to reuse."""
    torch._dynamo.reset()
    set_compile(True)
    yield
    set_compile(False)
