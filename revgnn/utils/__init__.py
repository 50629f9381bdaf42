"""Helpers shared across revgnn's subpackages (autocast and RNG state, module resets, input
checks, byte units, the C allocator's policy)."""

from revgnn.utils.autocast import AutocastState, autocast_disabled
from revgnn.utils.checks import check_edge_index, check_finite, check_probability
from revgnn.utils.malloc import release_freed_memory, reuse_freed_memory
from revgnn.utils.modules import reset_module, restore_buffers, set_training
from revgnn.utils.rng import (
    SeededCalls,
    derive_seed,
    draw_seed,
    get_rng_state,
    rng_changed,
    seed_generators,
    set_rng_state,
)
from revgnn.utils.units import format_bytes, parse_bytes

__all__ = [
    "AutocastState",
    "SeededCalls",
    "autocast_disabled",
    "check_edge_index",
    "check_finite",
    "check_probability",
    "derive_seed",
    "draw_seed",
    "format_bytes",
    "get_rng_state",
    "parse_bytes",
    "release_freed_memory",
    "reset_module",
    "restore_buffers",
    "reuse_freed_memory",
    "rng_changed",
    "seed_generators",
    "set_rng_state",
    "set_training",
]
