r"""Graphs that a layer builds from its own input, kept from a reversible forward pass.

A :class:`~revgnn.nn.DynamicConv` inside a reversible block builds its k-NN graph from the
features it receives, so the backward pass, which recomputes the layer, would search the
graph again. With ``keep_graph=True`` the layer routes its search through
:func:`built_graph`: while the reversible engine records a group (:func:`recording`), the
neighbour indices are kept in the smallest integer type that holds them (int16 for clouds of
up to 32,767 points, else int32: :math:`2 k` or :math:`4 k` bytes a point, against
:math:`8 C` for one fp64 stream row); while it recomputes the group (:func:`replaying`) the
kept indices are returned instead of a new search. Outside the engine the graph is built
as usual. The engine saves the kept indices with ``save_for_backward``, so the memory
counters see them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

import torch
from torch import Tensor

__all__ = ["built_graph", "compact_index", "recording", "replaying"]


class _Tape:
    def __init__(self, items: list[Tensor] | None) -> None:
        self.record = items is None
        self.items: list[Tensor] = [] if items is None else items
        self.position = 0


_TAPE: ContextVar[_Tape | None] = ContextVar("revgnn_graph_tape", default=None)


def compact_index(index: Tensor, bound: int) -> Tensor:
    """``index`` (values in ``[0, bound)``) in int16 or int32 when those hold ``bound``."""
    for dtype in (torch.int16, torch.int32):
        if bound <= torch.iinfo(dtype).max + 1:
            return index.to(dtype)
    return index


@contextlib.contextmanager
def recording() -> Iterator[list[Tensor]]:
    """Collect the graphs built by :func:`built_graph` inside the block (compact indices)."""
    tape = _Tape(None)
    token = _TAPE.set(tape)
    try:
        yield tape.items
    finally:
        _TAPE.reset(token)


@contextlib.contextmanager
def replaying(items: list[Tensor]) -> Iterator[None]:
    """Hand the recorded graphs back, in order, to the same :func:`built_graph` calls."""
    tape = _Tape(items)
    token = _TAPE.set(tape)
    try:
        yield
        if tape.position != len(items):
            raise RuntimeError(
                f"a recomputed block used {tape.position} of the {len(items)} graphs its forward "
                "pass built: the layer must build the same graphs in the same order"
            )
    finally:
        _TAPE.reset(token)


def built_graph(build: Callable[[], Tensor], bound: int) -> Tensor:
    """``build()`` (neighbour indices in ``[0, bound)``), kept while recording and handed
    back while replaying (see the module docstring)."""
    tape = _TAPE.get()
    if tape is None:
        return build()
    if tape.record:
        index = build()
        tape.items.append(compact_index(index, bound))
        return index
    if tape.position >= len(tape.items):
        raise RuntimeError(
            "a recomputed block built more graphs than its forward pass: the layer must build "
            "the same graphs in the same order"
        )
    index = tape.items[tape.position].long()
    tape.position += 1
    return index
