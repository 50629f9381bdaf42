"""The autocast state of a forward pass, captured so that a recomputation can re-enter it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import torch

__all__ = ["AutocastState", "autocast_disabled"]


@dataclass(frozen=True)
class AutocastState:
    """Whether autocast is on, and in which dtype, for the CPU and for ``device``'s type.

    Custom autograd functions that recompute in their backward pass (reversible blocks, the
    lean aggregation) capture it in the forward pass and :meth:`enter` it in the backward pass,
    where torch does not carry autocast.
    """

    device_types: tuple[str, ...]
    enabled: tuple[bool, ...]
    dtypes: tuple[torch.dtype, ...]
    cache_enabled: bool

    @classmethod
    def capture(cls, device: torch.device) -> AutocastState:
        types = ("cpu",) if device.type == "cpu" else ("cpu", device.type)
        return cls(
            types,
            tuple(torch.is_autocast_enabled(t) for t in types),
            tuple(torch.get_autocast_dtype(t) for t in types),
            torch.is_autocast_cache_enabled(),
        )

    @contextlib.contextmanager
    def enter(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for t, enabled, dtype in zip(self.device_types, self.enabled, self.dtypes):
                mode = torch.autocast(
                    t, dtype=dtype, enabled=enabled, cache_enabled=self.cache_enabled
                )
                stack.enter_context(mode)
            yield


@contextlib.contextmanager
def autocast_disabled(device_types: Iterable[str]) -> Iterator[None]:
    """Autocast off for ``device_types`` (arithmetic that must run in full precision)."""
    with contextlib.ExitStack() as stack:
        for t in dict.fromkeys(device_types):
            if torch.is_autocast_enabled(t):
                stack.enter_context(torch.autocast(t, enabled=False))
        yield
