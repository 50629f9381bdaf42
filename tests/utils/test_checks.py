import pytest
import torch

from revgnn.utils import check_edge_index, check_finite, check_probability
from revgnn.utils.checks import tensor_key


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
    import revgnn.utils.checks as checks

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


def test_tensor_key_follows_the_contents():
    x = torch.zeros(4, 3)
    first = tensor_key(x)
    assert tensor_key(x) == first
    assert tensor_key(x[1:]) != first and tensor_key(x.t()) != first  # other views
    assert tensor_key(x.double()) != first
    x[0, 0] = 1.0  # an in-place change bumps the version
    assert tensor_key(x) != first
