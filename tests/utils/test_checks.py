import math

import pytest
import torch

import revgnn.utils.checks as checks
from revgnn.memory import measure_peak
from revgnn.utils import check_edge_index, check_finite, check_probability
from revgnn.utils.checks import all_finite


def test_edge_index_is_checked_once_and_widened():
    ei = torch.tensor([[0, 1, 2], [1, 2, 0]], dtype=torch.int32)
    out = check_edge_index(ei, 3)
    assert out.dtype == torch.long and torch.equal(out, ei.long())
    long = ei.long()
    assert check_edge_index(long, 3) is long  # no copy when nothing to change
    with pytest.raises(ValueError, match=r"node 5 but there are 3 nodes .*largest index 5"):
        check_edge_index(torch.tensor([[0, 5], [1, 2]]), 3)
    with pytest.raises(ValueError, match="refers to node -1"):
        check_edge_index(torch.tensor([[0, -1], [1, 2]]), 3)
    with pytest.raises(TypeError, match=r"must hold integer node indices, got torch\.float32"):
        check_edge_index(ei.float(), 3)
    with pytest.raises(TypeError, match=r"must be a \[2, E\] integer tensor or a sparse"):
        check_edge_index([[0, 1], [1, 0]], 3)
    assert check_edge_index(torch.empty(2, 0, dtype=torch.long), 0).numel() == 0


def test_finite_and_probability():
    bad = torch.ones(4, 2)
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match=r"x has 1 NaN or inf entries of 8 \(first in row 2\)"):
        check_finite("x", bad)
    check_finite("x", torch.ones(3, dtype=torch.long))  # integers are always finite
    check_probability("p", 0.0)
    with pytest.raises(ValueError, match=r"dropout=1.0 must lie in \[0, 1\)"):
        check_probability("dropout", 1.0)


def test_finite_features_are_scanned_once_until_modified(monkeypatch):
    scans = []
    real = checks._check_finite
    monkeypatch.setattr(checks, "_check_finite", lambda *a: (scans.append(1), real(*a)))
    x = torch.ones(5, 3)
    check_finite("x", x)
    check_finite("x", x)
    assert len(scans) == 1  # the same unmodified tensor: not scanned again
    x[4, 0] = float("inf")  # an in-place change bumps its version: scanned again, and caught
    with pytest.raises(ValueError, match=r"x has 1 NaN or inf entries of 15 \(first in row 4\)"):
        check_finite("x", x)
    assert check_finite("x", x[:4]) is None and len(scans) == 3  # a view is its own key
    with torch.inference_mode():
        frozen = torch.ones(2, 2)
    check_finite("x", frozen)
    check_finite("x", frozen)
    assert len(scans) == 5  # no version counter: scanned every time


def test_all_finite_finds_nan_and_inf_anywhere():
    assert all_finite(torch.zeros(0)) and all_finite(torch.arange(5))  # empty; integer
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        for n in (1, 33, 100_003):
            t = torch.randn(n).to(dtype)
            assert all_finite(t)
            for pos in (0, n // 2, n - 1):
                for bad in (math.nan, math.inf, -math.inf):
                    u = t.clone()
                    u[pos] = bad
                    assert not all_finite(u), (dtype, n, pos, bad)


def test_the_finiteness_check_makes_no_copy_of_the_input():
    # torch.isfinite on 1.08 GiB of features made 1.7 GiB of temporaries (a float copy of the
    # magnitudes and two masks) in the first training step of Coauthor Physics.
    x = torch.rand(1000, 500)
    _, peak = measure_peak(lambda: checks._check_finite("x", x, ""))
    assert peak.step_bytes < 0.01 * x.nbytes, peak.step_bytes
    assert checks.nonfinite(x) is None
    x[7, 3] = math.nan
    x[9, 0] = -math.inf
    assert checks.nonfinite(x) == (2, 7) and checks.nonfinite(torch.tensor(math.inf)) == (1, 0)
    with pytest.raises(
        ValueError, match=r"x has 2 NaN or inf entries of 500000 \(first in row 7\)"
    ):
        checks._check_finite("x", x, "")


def test_checks_run_as_written_inside_a_compiled_function():
    # The once-per-tensor cache registers a finaliser, on which dynamo's guard failed in the
    # frame that made it ("Guard failed on the same frame it was created").
    torch._dynamo.reset()
    f = torch.compile(lambda x: (check_finite("x", x, "check it"), x * 2)[1], backend="eager")
    x = torch.randn(3)
    assert torch.equal(f(x), x * 2) and torch.equal(f(x), x * 2)
    with pytest.raises(ValueError, match=r"x has 1 NaN or inf entries of 2"):
        f(torch.tensor([1.0, math.nan]))
