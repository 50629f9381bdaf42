"""Random-number generator state of the CPU and of an accelerator, for exact replays.

A reversible stack replays the random numbers of every block in its backward pass. Recording
each block's generator state would cost the CPU generator's whole state (5,056 bytes of
mt19937) per group and block, linear in depth. Instead, one call of a stack draws one seed
(:func:`draw_seed`), and each group call runs on generators seeded with
:func:`derive_seed` of it and the call's index (:class:`SeededCalls`): the replay needs
that one integer, at any depth.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = [
    "RngState",
    "SeededCalls",
    "derive_seed",
    "draw_seed",
    "get_rng_state",
    "rng_changed",
    "seed_generators",
    "set_rng_state",
]

#: The CPU generator's state and, off the CPU, the device generator's (or ``None``).
RngState = tuple[Tensor, Tensor | None]

_MASK64 = (1 << 64) - 1


def _device_module(device: torch.device) -> Any | None:
    if device.type == "cpu":
        return None
    module = getattr(torch, device.type, None)
    return module if hasattr(module, "get_rng_state") else None


def get_rng_state(device: torch.device) -> RngState:
    """The states of the generators that code running on ``device`` draws from."""
    module = _device_module(device)
    dev_state = module.get_rng_state(device) if module is not None else None
    return torch.get_rng_state(), dev_state


def set_rng_state(device: torch.device, state: RngState) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    cpu_state, dev_state = state
    torch.set_rng_state(cpu_state)
    if dev_state is not None:
        _device_module(device).set_rng_state(dev_state, device)


def rng_changed(before: RngState, device: torch.device) -> bool:
    """Whether anything drew random numbers since ``before`` was taken."""
    after = get_rng_state(device)
    if not torch.equal(before[0], after[0]):
        return True
    return before[1] is not None and not torch.equal(before[1], after[1])


def draw_seed() -> int:
    """A 63-bit seed drawn from the CPU generator (so ``torch.manual_seed`` fixes it)."""
    return int(torch.randint(0, 1 << 62, (), dtype=torch.int64)) << 1 | 1


def derive_seed(base: int, index: int) -> int:
    """Call ``index``'s seed from a stack's ``base`` seed: SplitMix64's finaliser of their
    combination (distinct, well-mixed seeds for neighbouring indices), 63 bits."""
    z = (base + (index + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


def seed_generators(device: torch.device, seed: int) -> None:
    """Seed the generators that code running on ``device`` draws from: the CPU's and, off the
    CPU, that device's."""
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        torch.cuda.default_generators[index].manual_seed(seed)
    elif (module := _device_module(device)) is not None:
        module.manual_seed(seed)


class SeededCalls:
    """The generators of a sequence of calls, each seeded from one drawn seed and its key.

    Created before the calls: draws the seed. :meth:`enter` seeds the generators for call
    ``key``; :meth:`exit` notes whether that call drew random numbers; :meth:`close` hands the
    generators back as if only the seed had been drawn, or, when no call drew anything, as if
    nothing had happened (a stack without dropout leaves the caller's random numbers as they
    were). ``seed`` is ``None`` until a call draws: then there is nothing to replay.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._outer = get_rng_state(device)
        self._base = draw_seed()
        self._advanced = get_rng_state(device)
        self.drew = False

    @property
    def seed(self) -> int | None:
        return self._base if self.drew else None

    @staticmethod
    def replay(device: torch.device, seed: int, key: int) -> None:
        """Seed the generators as :meth:`enter` did for call ``key`` of the calls whose
        :attr:`seed` was ``seed`` (the backward pass's replay)."""
        seed_generators(device, derive_seed(seed, key))

    def enter(self, key: int) -> RngState | None:
        self.replay(self.device, self._base, key)
        return None if self.drew else get_rng_state(self.device)

    def exit(self, fresh: RngState | None) -> None:
        if fresh is not None and rng_changed(fresh, self.device):
            self.drew = True

    def close(self) -> None:
        set_rng_state(self.device, self._advanced if self.drew else self._outer)
