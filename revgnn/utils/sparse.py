"""Sparse adjacencies in the form the message-passing code reads (an edge list), the
symmetrised edge list of a large graph at a few int64 an edge, and sparse CSR construction
without torch's beta notices."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.utils import to_edge_index, to_undirected

__all__ = ["edge_list", "quiet_csr", "symmetric_keys", "undirected_edges"]

#: Above this many nodes ``row * N + col`` overflows int64.
_MAX_KEYED_NODES = 3_037_000_499


@contextlib.contextmanager
def quiet_csr() -> Iterator[None]:
    """Build sparse CSR tensors without torch's notices that CSR support is in beta and that
    its invariant checks are off. Torch gives them once per process, from whichever
    construction comes first: they are about torch, not about the caller's code, and under
    ``-W error`` they would stop it. Other warnings pass."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta", UserWarning)
        warnings.filterwarnings("ignore", "Sparse invariant checks are implicitly", UserWarning)
        yield


def edge_list(adj_t: Any) -> tuple[Tensor, Tensor | None]:
    """A transposed adjacency (PyG's ``adj_t``: targets as rows, sources as columns) as a
    ``[2, E]`` edge index (sources first) and its values (``None`` when it stores none)."""
    if isinstance(adj_t, Tensor):
        index, values = to_edge_index(adj_t)
        return index.flip(0), values
    row, col, value = adj_t.coo()
    return torch.stack([col, row]), value


def symmetric_keys(edge_index: Tensor, num_nodes: int, self_loops: bool = True) -> np.ndarray:
    """The sorted, distinct keys ``row * num_nodes + col`` of every edge and its reverse
    (without self-loops unless ``self_loops``): the symmetrised, coalesced graph in one int64
    array, built with a peak of 3 to 4 int64 an edge (one key per direction, sorted in place).
    """
    if num_nodes > _MAX_KEYED_NODES:
        raise ValueError(f"num_nodes={num_nodes} is too large for int64 keys (row * N + col)")
    row, col = edge_index[0].numpy(), edge_index[1].numpy()
    if not self_loops:
        loops = row == col
        if loops.any():
            row, col = row[~loops], col[~loops]
        del loops
    e = row.size
    keys = np.empty(2 * e, np.int64)
    np.multiply(row, num_nodes, out=keys[:e])
    keys[:e] += col
    np.multiply(col, num_nodes, out=keys[e:])
    keys[e:] += row
    keys.sort()
    first = np.empty(keys.size, bool)
    first[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    return keys[first]


def undirected_edges(edge_index: Tensor, num_nodes: int) -> Tensor:
    """PyG's ``to_undirected(edge_index, num_nodes=num_nodes)`` (each edge in both directions,
    sorted by source then target, no repeats), at a third of its peak memory on large graphs
    (:func:`symmetric_keys`; PyG's path for graphs beyond int64 keys)."""
    if num_nodes > _MAX_KEYED_NODES or edge_index.device.type != "cpu":
        return to_undirected(edge_index, num_nodes=num_nodes)
    keys = torch.from_numpy(symmetric_keys(edge_index.long(), num_nodes))
    out = torch.empty(2, keys.numel(), dtype=torch.long)
    torch.div(keys, num_nodes, rounding_mode="floor", out=out[0])
    torch.remainder(keys, num_nodes, out=out[1])
    return out
