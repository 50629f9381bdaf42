"""An epoch's batches, each built when the loop reads it."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, overload

__all__ = ["LazyBatches", "collated"]

T = TypeVar("T")


class LazyBatches(Sequence[T], Generic[T]):
    """The ``count`` batches ``build(0), ..., build(count - 1)``, each built when it is read
    and not kept: an epoch holds one batch's copy of the data at a time (the one a step is
    using), not a second copy of the whole training set. ``build`` must give the same batch
    for the same index whenever it is called (ranks digest the batches before training on
    them). Indexing by a slice gives a :class:`LazyBatches` of those batches, as
    :func:`~revgnn.training.distributed.shard_batches` and the memory measurement take them.

    Args:
        count (int): Number of batches.
        build (Callable[[int], T]): Builds batch ``k``.
    """

    def __init__(self, count: int, build: Callable[[int], T]) -> None:
        if count < 0:
            raise ValueError(f"count={count} must be at least 0")
        self._build = build
        self._which = range(count)

    def __len__(self) -> int:
        return len(self._which)

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> LazyBatches[T]: ...

    def __getitem__(self, i: int | slice) -> T | LazyBatches[T]:
        if isinstance(i, slice):
            out = copy.copy(self)
            out._which = self._which[i]
            return out
        return self._build(self._which[i])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)} batches, built when read)"


def collated(
    items: Sequence[T], groups: Sequence[Sequence[int]], collate: Callable[[list[T]], Any]
) -> LazyBatches[Any]:
    """Batch ``k`` is ``collate([items[i] for i in groups[k]])``, built when it is read."""
    return LazyBatches(len(groups), functools.partial(_collate, items, groups, collate))


def _collate(items: Sequence[T], groups: Sequence[Sequence[int]],
             collate: Callable[[list[T]], Any], k: int) -> Any:  # fmt: skip
    return collate([items[i] for i in groups[k]])
