import itertools
import math

import pytest
import torch

from revgnn.nn.damped_scales import (
    COARSEST_GRID_BITS,
    HEADROOM_BITS,
    RESCALE_BELOW,
    SIGNIFICAND_BITS,
    damped_scales,
    grid_before,
    grid_step,
    grid_steps,
    increment_units,
    largest_magnitude,
    needs_regrid,
    on_grid,
    on_grid_,
    overflowed,
    planned_regrids,
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


@pytest.mark.parametrize(("layers", "keep"), [(1, 0.75), (24, 0.7), (40, 0.75), (1000, 0.984)])
def test_grid_step_holds_the_stacks_growth_and_its_headroom(layers, keep):
    amax = 3.7
    step = grid_step(amax, keep, layers)
    assert math.frexp(step)[0] == 0.5  # a power of two
    growth = layers * -math.log2(keep)
    # The stream's largest value, grown by the stack and the headroom, stays on the grid...
    end = amax * 2 ** (growth + HEADROOM_BITS)
    assert not needs_regrid(end, step, keep)
    # ...and the grid is never coarser than COARSEST_GRID_BITS below the stream's maximum.
    assert step <= amax * 2.0**-COARSEST_GRID_BITS
    assert step < amax * 2.0**-SIGNIFICAND_BITS * 2 ** (growth + HEADROOM_BITS + 8)


def test_grid_step_of_a_stream_too_long_for_one_grid_is_the_coarsest():
    step = grid_step(1.0, 0.5, 100)  # 100 bits of growth
    assert step == 2.0 ** (1 - COARSEST_GRID_BITS)
    assert grid_step(0.0, 0.5, 4) == grid_step(1.0, 0.5, 4) / 2  # all zeros: any grid
    assert grid_step(float("nan"), 0.5, 4) > 0


def test_regrid_and_overflow_thresholds():
    step = 2.0**-30
    assert not needs_regrid(2.0**19, step, 0.75) and needs_regrid(2.0**20, step, 0.75)
    assert not overflowed(2.0**20, step) and overflowed(2.0**21, step)
    assert not needs_regrid(float("inf"), step, 0.75) and not overflowed(float("nan"), step)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("step", [2.0**-20, 2.0**-120, 2.0**3])
def test_on_grid_rounds_exactly_with_the_identity_gradient(dtype, step):
    torch.manual_seed(0)
    t = (torch.randn(1000, dtype=torch.float64) * 2.0 ** torch.randint(-40, 40, (1000,))).to(dtype)
    r = on_grid(t, step)
    k = r.double() / step
    assert torch.equal(k, k.round())  # multiples of the step...
    assert torch.equal(r.double(), (t.double() / step).round() * step)  # ...the nearest ones
    leaf = t.clone().requires_grad_()
    on_grid(leaf, step).mul(torch.arange(1000, dtype=dtype)).sum().backward()
    assert torch.equal(leaf.grad, torch.arange(1000, dtype=dtype))
    assert on_grid(t, None) is t


@pytest.mark.parametrize("layers", [45, 64, 100, 256, 1000, 5000])
def test_the_default_damping_needs_no_regrid_from_45_blocks(layers):
    from revgnn.config.model import DAMPED_TIME, DIFFUSION_TIME

    assert planned_regrids(layers, 1.0 - DAMPED_TIME / layers) == []
    # The short time of graphs with many labels (damped_time_rule) grows the stream less.
    assert planned_regrids(layers, 1.0 - DIFFUSION_TIME / layers) == []
    assert planned_regrids(32, 1.0 - DIFFUSION_TIME / 32) == []


def test_planned_regrids_of_streams_that_outgrow_one_grid():
    assert planned_regrids(100, 0.5) == [31, 62, 93]  # 100 bits of growth, 30 per grid
    # d = 0.25 over 1000 blocks: 415 bits, a grid every 30 bits (74-75 blocks).
    layers = [0, *planned_regrids(1000, 0.75)]
    assert len(layers) == 14 and {b - a for a, b in itertools.pairwise(layers)} == {74, 75}
    assert planned_regrids(1001, 1.0) == [] and planned_regrids(16, 0.75) == []


def test_snapshot_interval_checks_its_argument():
    assert snapshot_interval(None) is None and snapshot_interval(10) == 10
    with pytest.raises(ValueError, match=r"snapshot_every=0 must be at least 1"):
        snapshot_interval(0)


def test_snapshot_layers():
    assert snapshot_layers(64, 28) == [28, 56] and snapshot_layers(56, 28) == [28]
    assert snapshot_layers(28, 28) == [] and snapshot_layers(64, None) == []


def test_grid_steps_follow_the_shifts_and_the_recorded_grids():
    shifts = [1.0, 1.0, 0.5**16, 1.0, 1.0]
    assert grid_steps(shifts, {}) == [None] * 5
    steps = grid_steps(shifts, {0: 2.0**-10, 3: 2.0**-20})
    assert steps == [2.0**-10, 2.0**-10, 2.0**-26, 2.0**-20, 2.0**-20]


def test_largest_magnitude():
    assert largest_magnitude(torch.tensor([[-3.0, 2.0], [1.0, 0.5]])) == 3.0
    assert largest_magnitude(torch.tensor([0.25, 2.5])) == 2.5
    assert largest_magnitude(torch.empty(0, 4)) == 0.0


def test_grid_before_keeps_a_grid_that_fits_and_moves_otherwise():
    step, moved = grid_before(None, 3.0, 0.75, 10)  # no grid yet: one is set
    assert moved and step == grid_step(3.0, 0.75, 10)
    assert grid_before(step, 3.0 * 2**5, 0.75, 9) == (step, False)  # headroom: still fits
    big = math.ldexp(step, 51)
    new, moved = grid_before(step, big, 0.75, 9)
    assert moved and new == grid_step(big, 0.75, 9) and new > step


def test_on_grid_in_place_equals_on_grid_and_refuses_other_dtypes():
    torch.manual_seed(0)
    stream = torch.randn(300, dtype=torch.float64) * 1e3
    expected = on_grid(stream, 2.0**-7)
    assert on_grid_(stream, 2.0**-7) is stream and torch.equal(stream, expected)
    with pytest.raises(TypeError, match="float64 streams"):
        on_grid_(torch.ones(3), 2.0**-7)


@pytest.mark.parametrize(
    ("z_dtype", "dtype"),
    [
        (torch.float32, torch.float32),
        (torch.float64, torch.float64),
        (torch.float16, torch.float32),
    ],
)
# 0.9 * 2^-40 with the step 2^-99: a divisor below fp32's smallest normal, the fallback.
@pytest.mark.parametrize("scale", [1.0, 0.3, 0.75**7 * 0.93, 2.0**-17 * 0.7, 2.0**-40 * 0.9])
@pytest.mark.parametrize("step", [2.0**-30, 2.0**3, 2.0**-99, 2.0**-120, None])
def test_increment_units_add_the_plain_runs_increment_bit_for_bit(z_dtype, dtype, scale, step):
    torch.manual_seed(0)
    z = torch.randn(4000, dtype=torch.float64) * 2.0 ** torch.randint(-30, 12, (4000,))
    z = z.clamp(-6e4, 6e4).to(z_dtype)
    base = torch.randn(4000, dtype=torch.float64) * 1e3
    base = on_grid(base, step)
    # The plain run's sum: the increment in the compute dtype, rounded to the grid, widened.
    increment = on_grid(z if scale == 1.0 else z.to(dtype) / scale, step)
    units, unit = increment_units(z, scale, step, dtype)
    assert torch.equal(torch.add(base, units, alpha=unit), base + increment)
    assert torch.equal(torch.add(base, units, alpha=-unit), base - increment)  # the rebuild's
    # The two-pass-shorter form wherever the step and the divisor lie in range: the units
    # are then whole numbers of steps.
    in_range = step is not None and 2.0**-100 < step < 2.0**100
    divisor_ok = scale == 1.0 or torch.finfo(dtype).tiny <= scale * (step or 1.0)
    assert unit == (step if in_range and divisor_ok else 1.0)
    if unit != 1.0:
        assert torch.equal(units, units.round())
