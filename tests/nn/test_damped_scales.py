import math

import pytest

from revgnn.nn.damped_scales import (
    RESCALE_BELOW,
    damped_scales,
    exact_span,
    snapshot_interval,
    snapshot_layers,
)


@pytest.mark.parametrize(("layers", "keep"), [(1001, 0.75), (200, 0.25), (64, 0.5), (3, 0.999)])
def test_schedule_tracks_the_damped_factor_within_range(layers, keep):
    shifts, scales_in, scales_out = damped_scales(layers, keep)
    assert len(shifts) == len(scales_in) == len(scales_out) == layers
    log_factor = 0.0  # log2 of (1 - d)^l, tracked through the shifts
    for li in range(layers):
        mantissa, exponent = math.frexp(shifts[li])
        assert mantissa == 0.5  # a power of two: exact to multiply and to undo
        log_factor -= exponent - 1  # shifting the stream by 2^k moves its factor by 2^-k
        assert scales_in[li] >= RESCALE_BELOW
        assert scales_out[li] == scales_in[li] * keep
        # The factor to the activations is the true (1 - d)^l up to the applied shifts.
        assert math.log2(scales_in[li]) - log_factor == pytest.approx(li * math.log2(keep))
    assert min(scales_out) >= RESCALE_BELOW * keep


def test_additive_coupling_never_rescales():
    assert damped_scales(1001, 1.0) == ([1.0] * 1001,) * 3
    shifts, _, _ = damped_scales(30, 0.75)  # 0.75^30 = 1.8e-4: above the threshold
    assert set(shifts) == {1.0}
    shifts, _, _ = damped_scales(40, 0.75)
    assert shifts.index(0.5**16) == 39  # 0.75^39 = 1.3e-5 < 2^-16


@pytest.mark.parametrize(
    ("layers", "keep", "message"),
    [(0, 0.5, r"num_layers=0 must be at least 1"), (4, 0.0, r"keep=0.0 must lie in \(0, 1\]")],
)
def test_errors_name_the_argument(layers, keep, message):
    with pytest.raises(ValueError, match=message):
        damped_scales(layers, keep)


def test_exact_span_and_the_snapshot_interval_it_sets():
    assert [exact_span(1 - d) for d in (0.1, 0.25, 0.5, 0.75)] == [78, 28, 12, 6]
    assert exact_span(1.0) is None and exact_span(1e-9) == 1
    assert snapshot_interval(None, 0.0) is None  # additive coupling: no snapshots needed
    assert snapshot_interval(None, 0.25) == 28 and snapshot_interval(10, 0.25) == 10
    assert snapshot_interval(500, 0.0) == 500
    with pytest.raises(ValueError, match=r"snapshot_every=29 is longer than the 28 blocks"):
        snapshot_interval(29, 0.25)
    with pytest.raises(ValueError, match=r"snapshot_every=0 must be at least 1"):
        snapshot_interval(0, 0.25)


def test_snapshot_layers():
    assert snapshot_layers(64, 28) == [28, 56] and snapshot_layers(56, 28) == [28]
    assert snapshot_layers(28, 28) == [] and snapshot_layers(64, None) == []
