"""Input checks at the boundary of every public module: one clear error each.

A graph's node range and a feature tensor's finiteness are checked once per tensor (the result
is cached for as long as the tensor lives, keyed by its version, like the sorted segments of
:mod:`revgnn.nn.aggr.segments`): a full-batch run scans its features and edges in the first
epoch only. A graph's shape and dtype are checked on every call of the outermost revgnn
module; a model checks its input and the layers inside it do not check again
(:func:`boundary`). :func:`set_validation` (or ``REVGNN_VALIDATE=0``) turns the checks off.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor

from revgnn.utils.tensor_cache import per_tensor

__all__ = [
    "all_finite",
    "boundary",
    "check_edge_index",
    "check_finite",
    "check_graph",
    "check_positive",
    "check_probability",
    "is_sparse_adjacency",
    "nonfinite",
    "set_validation",
    "transpose_hint",
    "validation_enabled",
]

_ENABLED = [os.environ.get("REVGNN_VALIDATE", "1") != "0"]
_STATE = threading.local()


def set_validation(enabled: bool) -> None:
    """Switch the input checks of every revgnn module on (the default) or off. Off skips the
    graph and feature checks (not the checks of constructor arguments)."""
    _ENABLED[0] = bool(enabled)


def validation_enabled() -> bool:
    return _ENABLED[0]


@contextlib.contextmanager
def boundary() -> Iterator[bool]:
    """Enter a public module's forward: yields whether this call is the outermost one (and
    the checks are on), i.e. whether it must check its inputs."""
    depth = getattr(_STATE, "depth", 0)
    _STATE.depth = depth + 1
    try:
        yield depth == 0 and _ENABLED[0]
    finally:
        _STATE.depth = depth


def check_probability(name: str, p: float) -> None:
    """A dropout-like probability must lie in ``[0, 1)``."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name}={p} must lie in [0, 1)")


def check_positive(name: str, value: int) -> None:
    """A count (layers, channels, groups, ...) must be a positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}={value!r} must be a positive integer")


def is_sparse_adjacency(adj: Any) -> bool:
    """A ``torch.sparse`` tensor or a ``torch_sparse.SparseTensor`` (PyG's ``adj_t``)."""
    if isinstance(adj, Tensor):
        return adj.layout != torch.strided
    return type(adj).__name__ == "SparseTensor"


def _sparse_size(adj: Any) -> tuple[int, ...]:
    return tuple(adj.size()) if isinstance(adj, Tensor) else tuple(adj.sizes())


def transpose_hint(edge_index: Tensor) -> str:
    """The remedy for an edge list stored as :math:`(E, 2)` rows, or ``""``."""
    return (
        " (transpose it: edge_index.t())"
        if edge_index.dim() == 2 and edge_index.size(1) == 2
        else ""
    )


def check_graph(
    edge_index: Any, num_src: int, num_dst: int | None = None, name: str = "edge_index"
) -> Any:
    """Validate connectivity against the number of source (and target) nodes; return it with
    int64 indices. Shape and dtype are checked on every call, the node range once per tensor.

    ``edge_index`` is a :math:`(2, E)` integer tensor (row 0 sources, row 1 targets; int32
    is widened to int64, which every PyG conv needs) or a sparse adjacency ``adj_t`` of shape
    :math:`(N_{dst}, N_{src})`.
    """
    num_dst = num_src if num_dst is None else num_dst
    if is_sparse_adjacency(edge_index):
        size = _sparse_size(edge_index)
        if len(size) < 2 or size[0] != num_dst or size[1] != num_src:
            nodes = (
                f"{num_src} nodes" if num_src == num_dst
                else f"{num_dst} target and {num_src} source nodes"
            )  # fmt: skip
            raise ValueError(
                f"{name} is a sparse adjacency of shape {size} but the graph has {nodes}: it "
                f"must be ({num_dst}, {num_src}) (rows are targets, as PyG's adj_t)"
            )
        return edge_index
    if not isinstance(edge_index, Tensor):
        raise TypeError(
            f"{name} must be a [2, E] integer tensor or a sparse adjacency, "
            f"got {type(edge_index).__name__}"
        )
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(
            f"{name} must have shape [2, E], got {list(edge_index.shape)}"
            f"{transpose_hint(edge_index)}"
        )
    if (
        edge_index.dtype.is_floating_point
        or edge_index.dtype.is_complex
        or edge_index.dtype == torch.bool
    ):
        raise TypeError(
            f"{name} must hold integer node indices, got {edge_index.dtype} (int64 or int32 are "
            "indices: convert with .long() after checking that the values are whole numbers)"
        )
    if _ENABLED[0] and edge_index.numel() > 0:
        _once(edge_index, ("range", num_src, num_dst),
              lambda: _check_range(edge_index, num_src, num_dst, name))  # fmt: skip
    return edge_index if edge_index.dtype == torch.long else edge_index.long()


def _once(t: Tensor, what: tuple, check: Callable[[], None]) -> None:
    """Run ``check`` on ``t`` unless it passed before on the same tensor, unmodified (the
    result is kept for as long as the tensor lives, keyed by its version)."""
    per_tensor(t, what, lambda: check() or True)


def _check_range(edge_index: Tensor, num_src: int, num_dst: int, name: str) -> None:
    lo, hi = torch.aminmax(edge_index, dim=1)
    square = num_src == num_dst
    for row, (what, n) in enumerate((("source ", num_src), ("target ", num_dst))):
        low, high = int(lo[row]), int(hi[row])
        if low < 0 or high >= n:
            bad, what = (low if low < 0 else high), ("" if square else what)
            raise ValueError(
                f"{name} refers to {what}node {bad} but there are {n} {what}nodes (valid "
                f"indices 0..{n - 1}; row {row}: largest index {high}, smallest {low}): check "
                "that the node features and the edges come from the same graph"
            )


def check_edge_index(edge_index: Any, num_nodes: int, name: str = "edge_index") -> Any:
    """:func:`check_graph` of a graph whose sources and targets are the same ``num_nodes``."""
    return check_graph(edge_index, num_nodes, num_nodes, name)


def check_finite(name: str, value: Any, what: str = "") -> None:
    """A floating-point tensor must hold no NaN or inf; ``what`` says what to check."""
    if not (isinstance(value, Tensor) and value.is_floating_point()):
        return
    # The same features are checked once (a full-batch run passes them every epoch).
    _once(value, ("finite",), lambda: _check_finite(name, value, what))


def all_finite(t: Tensor) -> bool:
    """Whether a tensor holds no NaN or inf, without a mask of its size: its extremes
    propagate NaN and show inf. ``torch.isfinite`` makes a float copy of the tensor's
    magnitudes and two masks: on Coauthor Physics' 1.08 GiB of features, 1.7 GiB more at the
    peak of the first training step than while it trains."""
    if not t.is_floating_point() or t.numel() == 0:
        return True
    lo, hi = torch.aminmax(t.detach())
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def nonfinite(t: Tensor) -> tuple[int, int] | None:
    """The number of NaN / inf entries of ``t`` and the row (first index) of the first one,
    or ``None`` when it holds none. Masks are made only for a tensor that has some
    (:func:`all_finite` decides), to report them."""
    if all_finite(t):
        return None
    # detach(): isfinite on a tensor that requires grad would record a graph that saves it.
    bad = ~torch.isfinite(t.detach())
    return int(bad.sum()), int(bad.nonzero()[0, 0]) if t.dim() > 0 else 0


def _check_finite(name: str, value: Tensor, what: str) -> None:
    if value.layout != torch.strided:  # a sparse adjacency: its stored values
        value = value.values()
    found = nonfinite(value)
    if found is not None:
        hint = f": {what}" if what else ""
        raise ValueError(
            f"{name} has {found[0]} NaN or inf entries of {value.numel()} (first in row "
            f"{found[1]}){hint}"
        )
