"""Values derived from a tensor, computed once per tensor and version and kept while it lives.

A full-batch run passes the same features and the same edge index to its model in every
epoch, and every layer of the model receives them again: whatever is derived from them alone
(a range check, a CSR copy of bag-of-words features, GCN's normalised adjacency) is the same
each time. :func:`per_tensor` computes such a value on first use and returns it again while the
tensor lives unmodified: the entry is keyed by the tensor's storage owner, its version counter
and the view (an in-place change, or another view, computes it afresh), and a weak reference
drops it when the owner is freed, so the cache keeps no tensor alive.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import torch
from torch import Tensor

__all__ = ["per_tensor", "tensor_key"]

T = TypeVar("T")

_CACHE: dict[tuple, Any] = {}


def tensor_key(t: Tensor) -> tuple:
    """A key of ``t``'s contents for caches kept per tensor and version: its storage owner's
    identity and version counter, and the view's offset, shape, strides and dtype (an
    in-place change, or another view, gives another key). A sparse tensor is its own owner
    (an in-place change of its values bumps its counter too)."""
    if t.layout != torch.strided:
        return (id(t), t._version, t.layout, tuple(t.shape), t.dtype)
    owner = t._base if t._base is not None else t
    return (id(owner), owner._version, t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)


# Runs as written inside a torch.compile of a model: dynamo guards on weakref.finalize's
# registry, which the traced call itself grows (its "Guard failed on the same frame" error on
# a compiled model's first call).
@torch.compiler.disable
def per_tensor(t: Tensor, what: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """``build()``, computed once for ``t`` (as it is now) and ``what`` (whatever else the
    value depends on), then returned from the cache while ``t`` lives unmodified; ``t`` may be
    sparse (a CSR adjacency). A tensor without a version counter (made in inference mode)
    gets ``build()`` on every call. An exception from ``build`` leaves nothing cached, and nor
    does a build of tensors in inference mode (they could not enter a later training step's
    autograd graph) or one that changed ``t``'s version; a value cached outside inference
    mode is served inside it too.

    Args:
        t (torch.Tensor): The tensor the value is derived from.
        what (tuple): The rest of the key: the kind of value and its other inputs (sizes,
            dtypes), hashable.
        build (Callable): Computes the value; it must not keep a view of ``t``, which would
            keep ``t`` alive through the cache.
    """
    if t.is_inference():
        return build()
    key = (tensor_key(t), *what)
    if key in _CACHE:
        return _CACHE[key]
    value = build()
    if torch.is_inference_mode_enabled() and _holds_tensors(value):
        # What inference mode builds is an inference tensor, which autograd refuses to save:
        # kept, it would break the next training step on the same graph.
        return value
    if tensor_key(t) != key[0]:
        # The build bumped t's version (PyG's to_edge_index marks a COO tensor coalesced in
        # place): the key is stale already, and each call would add an entry.
        return value
    _CACHE[key] = value
    weakref.finalize(t._base if t._base is not None else t, _CACHE.pop, key, None)
    return value


def _holds_tensors(value: Any) -> bool:
    if isinstance(value, Tensor):
        return True
    return isinstance(value, (tuple, list)) and any(_holds_tensors(v) for v in value)
