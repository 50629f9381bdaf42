r"""Saved-activation bytes of a forward pass: what autograd keeps for the backward pass.

Every tensor saved for backward is counted through
:func:`torch.autograd.graph.saved_tensors_hooks`, deduplicated by storage, plus tensors that
custom autograd Functions keep as plain attributes of their context (found by walking the
autograd graph from the outputs). Parameters and buffers are excluded. Deterministic and
machine-independent: the figure that is :math:`O(LND)` for a plain deep GNN and :math:`O(ND)`
for a reversible one.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "SavedBytes",
    "SavedTensorCounter",
    "ctx_attribute_storages",
    "exclusions",
    "saved_activation_bytes",
    "storage_key",
]


def storage_key(t: Tensor) -> tuple[str, int]:
    s = t.untyped_storage()
    return (str(t.device), s.data_ptr())


def _storage_keys(tensors: Iterable[Tensor]) -> set[tuple[str, int]]:
    return {storage_key(t) for t in tensors}


def exclusions(*modules: nn.Module) -> set[tuple[str, int]]:
    """Storage keys of the parameters, gradients and buffers of ``modules``."""
    keys: set[tuple[str, int]] = set()
    for m in modules:
        for p in m.parameters():
            keys.add(storage_key(p))
            if p.grad is not None:
                keys.add(storage_key(p.grad))
        keys |= _storage_keys(m.buffers())
    return keys


class SavedTensorCounter:
    """Counts the bytes of tensors saved for backward while the context is active.

    Each storage is counted once, whole (a saved view keeps its entire storage alive), at
    the size it has when the figure is read (:attr:`storages`).

    Args:
        exclude (iterable of nn.Module or Tensor, optional): Parameters, buffers (all of a
            module's) or other tensors whose storages are not activations.
    """

    def __init__(self, exclude: Iterable[nn.Module | Tensor] = ()) -> None:
        self.excluded: set[tuple[str, int]] = set()
        for e in exclude:
            if isinstance(e, nn.Module):
                self.excluded |= exclusions(e)
            else:
                self.excluded.add(storage_key(e))
        self._saved: dict[tuple[str, int], weakref.ref[Tensor]] = {}
        self.num_saved = 0
        self._hooks: Any = None

    def _pack(self, t: Tensor) -> Tensor:
        self.num_saved += 1
        if t.layout == torch.strided and t.device.type != "meta":
            key = storage_key(t)
            if key not in self.excluded:
                self._saved[key] = weakref.ref(t)
        return t

    @property
    def storages(self) -> dict[tuple[str, int], int]:
        """The bytes each counted storage holds now, by the key it had when saved: a storage
        freed since (the stream of a reversible block that the next block took over), or a
        tensor freed since, counts 0."""
        out = {}
        for key, ref in self._saved.items():
            t = ref()
            out[key] = 0 if t is None else t.untyped_storage().nbytes()
        return out

    def __enter__(self) -> SavedTensorCounter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)

    @property
    def bytes(self) -> int:
        return sum(self.storages.values())


def _tensors_in(obj: Any, depth: int = 0) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)) and depth < 3:
        for o in obj:
            yield from _tensors_in(o, depth + 1)
    elif isinstance(obj, dict) and depth < 3:
        for o in obj.values():
            yield from _tensors_in(o, depth + 1)


def ctx_attribute_storages(outputs: Any) -> dict[tuple[str, int], int]:
    """Storages that custom autograd Functions keep as attributes of their context.

    Walks the autograd graph from ``outputs`` (a tensor or nested list/tuple/dict of them).
    Such tensors are invisible to saved-tensor hooks (PyG's ``InvertibleFunction`` keeps its
    inputs and outputs this way).
    """
    found: dict[tuple[str, int], int] = {}
    stack = [t.grad_fn for t in _tensors_in(outputs) if t.grad_fn is not None]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            for value in vars(node).values():
                for t in _tensors_in(value):
                    if t.layout == torch.strided:
                        found[storage_key(t)] = t.untyped_storage().nbytes()
        stack.extend(fn for fn, _ in node.next_functions)
    return found


@dataclass
class SavedBytes:
    """Saved-activation bytes of one forward pass."""

    total: int
    by_hooks: int
    by_ctx_attributes: int
    num_saved: int


def saved_activation_bytes(
    fn: Callable[[], Any], exclude: Iterable[nn.Module | Tensor] = ()
) -> tuple[Any, SavedBytes]:
    """Run ``fn()`` (a forward pass) and count what it keeps for the backward pass.

    Returns ``fn``'s result (keep it alive until you have read the figure, and use it for the
    backward pass if you need one) and a :class:`SavedBytes`.

    Example::

        out, saved = saved_activation_bytes(lambda: model(x, edge_index), exclude=[model])
        print(saved.total)
    """
    counter = SavedTensorCounter(exclude)
    with counter:
        out = fn()
    extra = {
        k: v
        for k, v in ctx_attribute_storages(out).items()
        if k not in counter.storages and k not in counter.excluded
    }
    by_ctx = sum(extra.values())
    return out, SavedBytes(counter.bytes + by_ctx, counter.bytes, by_ctx, counter.num_saved)
