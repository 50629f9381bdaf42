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
    for the same index whenever it is called (ranks compare the batches they drew before
    training on them). Indexing by a slice gives a :class:`LazyBatches` of those batches, as
    :func:`~revgnn.training.distributed.shard_batches` and the memory measurement take them.

    Args:
        count (int): Number of batches.
        build (Callable[[int], T]): Builds batch ``k``.
        plan (Callable[[int], Any], optional): What batch ``k`` is made of, where that
            decides it (the items' indices, the draws of its augmentation): ranks compare
            the plans instead of building every batch of the epoch to compare them.
    """

    def __init__(
        self, count: int, build: Callable[[int], T], plan: Callable[[int], Any] | None = None
    ) -> None:
        if count < 0:
            raise ValueError(f"count={count} must be at least 0")
        self._build = build
        self._plan = plan
        self._which = range(count)

    @property
    def planned(self) -> bool:
        """Whether :meth:`plan` says what each batch is made of."""
        return self._plan is not None

    def plan(self, i: int) -> Any:
        """What batch ``i`` is made of (see ``plan`` above), without building it."""
        if self._plan is None:
            raise ValueError("these batches have no plan: build them (batches[i])")
        return self._plan(self._which[i])

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
    """Batch ``k`` is ``collate([items[i] for i in groups[k]])``, built when it is read; its
    plan is ``groups[k]``."""
    build = functools.partial(_collate, items, groups, collate)
    return LazyBatches(len(groups), build, groups.__getitem__)


def _collate(items: Sequence[T], groups: Sequence[Sequence[int]],
             collate: Callable[[list[T]], Any], k: int) -> Any:  # fmt: skip
    return collate([items[i] for i in groups[k]])
