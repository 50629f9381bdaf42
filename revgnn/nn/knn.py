r"""Exact (dilated, stochastic) k-nearest-neighbour graphs of point sets, in pure torch.

DeepGCNs (Li, Müller, Thabet, Ghanem, ICCV 2019) build each layer's graph by k-NN: the head
layer in xyz, every later block in the space of its own input features (a dynamic graph).
A dilated neighbourhood of dilation :math:`d` keeps every :math:`d`-th of the :math:`k d`
nearest points,

.. math::

    \mathcal{N}^{(d)}(v) = \{u_1, u_{1+d}, \dots, u_{1+(k-1)d}\},

where :math:`u_1 = v` (the point itself, distance 0, is always the first candidate).
Stochastic dilation (training only) replaces, with probability :math:`\epsilon`, the
regular pattern by :math:`k` random columns of the :math:`k d` candidates, one draw per call
from torch's generator (so that it is seeded, and replayed inside reversible blocks).

Distances are computed for chunks of query points, so that memory is :math:`O(B \cdot
\text{chunk} \cdot N)` rather than :math:`O(B N^2)` (the reference's dense k-NN keeps the
whole :math:`N \times N` matrix per cloud), in at least fp32 (under autocast too), and the
neighbours are selected exactly (ties to the lower index) without sorting whole rows
(:func:`knn`).
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import Tensor, nn

from revgnn.utils.autocast import autocast_disabled
from revgnn.utils.checks import check_probability
from revgnn.utils.compile import CompiledKernel, compile_supported

__all__ = [
    "DilatedKnnGraph",
    "dilate",
    "dilated_knn",
    "gather_neighbors",
    "knn",
    "knn_graph",
    "neighbors_to_edge_index",
]

#: Elements of one chunk of distances (64 MiB in fp32) when no ``chunk_size`` is given.
CHUNK_ELEMENTS = 1 << 24
#: Query rows per chunk on CPU: a chunk's keys stay in cache while they are selected, and
#: the chunks are shared out between the threads.
CPU_CHUNK_ROWS = 256


def _check_points(x: Tensor, num: int) -> None:
    if x.dim() != 3:
        raise ValueError(
            f"x must have shape [batch, num_points, channels], got {list(x.shape)} (pass a "
            "batch vector to knn_graph for clouds of different sizes)"
        )
    if num > x.size(1):
        raise ValueError(
            f"k * dilation = {num} neighbours asked of clouds of {x.size(1)} points: lower k "
            "or the dilation (e.g. max_dilation), or use more points per cloud"
        )


@torch.no_grad()
def knn(x: Tensor, k: int, chunk_size: int | None = None) -> Tensor:
    r"""The :math:`k` nearest points of every point of every cloud, nearest first.

    Exactly ``argsort(dist, stable=True)[..., :k]`` of the fp32 distances
    :math:`\|q\|^2 - 2 q \cdot x + \|x\|^2` with the point itself first: ties go to the
    lower index, whatever the device or the chunking. Each distance and its column are packed
    into one int64 key (the float's bits made monotone, then the index), so selecting the
    :math:`k` smallest keys is a selection of distinct integers. On CPU the selection is
    numpy's introselect and a sort of the :math:`k` survivors (linear in :math:`N` per row,
    where ``torch.topk`` sorts), one chunk of query rows per thread; on CUDA ``torch.topk``
    of the keys. Only one chunk of rows of the distance matrix exists at a time.

    Args:
        x (Tensor): Point features :math:`(B, N, C)`.
        k (int): Neighbours per point, :math:`1 \le k \le N`; column 0 is the point itself.
        chunk_size (int, optional): Query points per chunk of the distance computation
            (default: as many as fit in :data:`CHUNK_ELEMENTS` distances, at most
            :data:`CPU_CHUNK_ROWS` rows on CPU).

    Returns:
        Indices :math:`(B, N, k)` into each cloud's points (long).
    """
    if k < 1:
        raise ValueError(f"k={k} must be at least 1")
    _check_points(x, k)
    b, n, _ = x.shape
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size} must be at least 1")
    if x.dtype != torch.float32:  # the keys pack fp32 distances (float64 ones included)
        x = x.float()
    x = x.detach()
    rows = chunk_size or max(1, CHUNK_ELEMENTS // max(b * n, 1))
    if x.device.type == "cpu" and chunk_size is None:
        rows = min(rows, CPU_CHUNK_ROWS)
    # Autocast would run the distance products in bf16 / fp16 and lose true neighbours.
    with autocast_disabled([x.device.type]):
        return _knn_fp32(x, k, rows)


def _key_bits(dist: Tensor, square_rows: Tensor) -> Tensor:
    """``dist + square_rows`` (the query rows' squared norms) as int64 keys: high 32 bits the
    fp32 distance made monotone as a signed integer, low 32 the column. A compiled kernel
    (:data:`_KEY_BITS`): one pass over the chunk instead of five."""
    bits = (dist + square_rows.unsqueeze(-1)).view(torch.int32)
    # Negative floats order backwards as integers: flip their magnitude bits (the arithmetic
    # shift makes the mask all ones for them, zero otherwise).
    bits ^= (bits >> 31) & 0x7FFFFFFF
    columns = torch.arange(dist.size(-1), device=dist.device)
    return bits.to(torch.int64).bitwise_left_shift_(32).bitwise_or_(columns)


_KEY_BITS = CompiledKernel(_key_bits)


def _keys(x: Tensor, square: Tensor, start: int, stop: int) -> Tensor:
    """Distances of query rows ``start:stop`` to every point as unique, ordered int64 keys
    (:func:`_key_bits`); the point itself gets the smallest key of all."""
    # The product stays eager (the BLAS, bit for bit the same distances either way); the
    # integer work after it is exact, so the compiled keys equal the eager ones.
    dist = torch.baddbmm(square.unsqueeze(1), x[:, start:stop], x.transpose(1, 2), alpha=-2.0)
    kernel = _KEY_BITS if compile_supported(dist) else _key_bits
    keys = kernel(dist, square[:, start:stop])
    own = torch.arange(start, stop, device=x.device)
    keys[:, own - start, own] = (-(2**31) << 32) | own  # below every distance, NaN aside
    return keys


def _knn_fp32(x: Tensor, k: int, rows: int) -> Tensor:
    b, n, _ = x.shape
    square = (x * x).sum(-1)  # [B, N]
    if x.device.type != "cpu":
        return _knn_topk(x, square, k, rows)
    starts = range(0, n, rows)
    out_np = np.empty((b, n, k), dtype=np.int64)

    def select(start: int) -> None:
        stop = min(start + rows, n)
        keys = _keys(x, square, start, stop).numpy()
        if k < n:
            keys = np.partition(keys, k - 1, axis=-1)[..., :k]
        keys.sort(axis=-1)  # numpy releases the GIL in both: the chunks run in parallel
        np.bitwise_and(keys, 0xFFFFFFFF, out=out_np[:, start:stop])

    threads = min(torch.get_num_threads(), len(starts))
    if threads > 1:
        list(_pool(threads).map(select, starts))
    else:
        for start in starts:
            select(start)
    return torch.from_numpy(out_np)


def _knn_topk(x: Tensor, square: Tensor, k: int, rows: int) -> Tensor:
    """The selection of :func:`knn` by ``torch.topk`` of the keys (CUDA; the same result)."""
    b, n, _ = x.shape
    out = torch.empty(b, n, k, dtype=torch.long, device=x.device)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        keys = _keys(x, square, start, stop)
        out[:, start:stop] = keys.topk(k, dim=-1, largest=False, sorted=True).values
    return out & 0xFFFFFFFF


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="revgnn-knn")


def dilate(
    candidates: Tensor,
    k: int,
    dilation: int = 1,
    stochastic: bool = False,
    epsilon: float = 0.2,
) -> Tensor:
    r"""Every ``dilation``-th of the :math:`k d` ``candidates`` (nearest first), or, if
    ``stochastic``, with probability ``epsilon`` :math:`k` random columns of them (one
    draw from torch's generator per call; none when ``dilation`` is 1, where it could only
    permute the neighbours).

    Shapes:
        candidates :math:`(\dots, k d)` → :math:`(\dots, k)`.
    """
    if candidates.size(-1) != k * dilation:
        raise ValueError(
            f"candidates have {candidates.size(-1)} columns, expected k * dilation = {k * dilation}"
        )
    if stochastic and dilation > 1 and float(torch.rand(1)) < epsilon:
        return candidates[..., torch.randperm(k * dilation)[:k].to(candidates.device)]
    return candidates[..., ::dilation]


def dilated_knn(
    x: Tensor,
    k: int,
    dilation: int = 1,
    stochastic: bool = False,
    epsilon: float = 0.2,
    chunk_size: int | None = None,
) -> Tensor:
    """:func:`knn` with ``k * dilation`` candidates, then :func:`dilate`: :math:`(B, N, k)`."""
    if dilation < 1:
        raise ValueError(f"dilation={dilation} must be at least 1")
    return dilate(knn(x, k * dilation, chunk_size), k, dilation, stochastic, epsilon)


def gather_neighbors(x: Tensor, index: Tensor) -> Tensor:
    r"""The features of every point's neighbours: :math:`(B, N, C)` and indices
    :math:`(B, N, k)` into the same cloud → :math:`(B, N, k, C)`."""
    b, n, c = x.shape
    if index.dim() != 3 or index.size(0) != b or index.size(1) != n:
        raise ValueError(
            f"neighbour indices must have shape [{b}, {n}, k] for points {list(x.shape)}, got "
            f"{list(index.shape)}"
        )
    k = index.size(-1)
    offset = torch.arange(b, device=index.device).view(b, 1, 1) * n
    flat = (index + offset).reshape(-1)
    return x.reshape(b * n, c).index_select(0, flat).view(b, n, k, c)


def neighbors_to_edge_index(index: Tensor) -> Tensor:
    r"""Dense neighbour indices :math:`(B, N, k)` as PyG's ``edge_index`` :math:`(2, B N k)`
    over the flattened points (row 0: the neighbour :math:`j`, row 1: the centre :math:`i`)."""
    b, n, k = index.shape
    offset = torch.arange(b, device=index.device).view(b, 1, 1) * n
    source = (index + offset).reshape(-1)
    target = torch.arange(b * n, device=index.device).repeat_interleave(k)
    return torch.stack([source, target])


def knn_graph(
    x: Tensor,
    k: int,
    batch: Tensor | None = None,
    dilation: int = 1,
    stochastic: bool = False,
    epsilon: float = 0.2,
    chunk_size: int | None = None,
) -> Tensor:
    r"""The dilated k-NN graph of points stored PyG's way, :math:`(n, C)` with a sorted
    ``batch`` vector (clouds may differ in size), as ``edge_index`` :math:`(2, n k)` (row 0:
    neighbours, row 1: centres; every point has exactly :math:`k` edges, itself included).
    Stochastic dilation draws once for the whole call."""
    if x.dim() != 2:
        raise ValueError(f"x must have shape [num_points, channels], got {list(x.shape)}")
    if batch is None:
        return neighbors_to_edge_index(
            dilated_knn(x.unsqueeze(0), k, dilation, stochastic, epsilon, chunk_size)
        )
    if batch.numel() != x.size(0):
        raise ValueError(f"batch has {batch.numel()} entries for {x.size(0)} points")
    if batch.numel() > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (points of one cloud stored together)")
    counts = torch.bincount(batch).tolist()
    num = k * dilation
    for cloud, count in enumerate(counts):
        if 0 < count < num:
            raise ValueError(
                f"cloud {cloud} has {count} points, fewer than k * dilation = {num}: lower k or "
                "the dilation, or drop that cloud"
            )
    candidates, start = [], 0
    for count in counts:
        if count:
            idx = knn(x[start : start + count].unsqueeze(0), num, chunk_size)[0] + start
            candidates.append(idx)
        start += count
    index = dilate(torch.cat(candidates), k, dilation, stochastic, epsilon)
    target = torch.arange(x.size(0), device=x.device).repeat_interleave(k)
    return torch.stack([index.reshape(-1), target])


class DilatedKnnGraph(nn.Module):
    r"""A dilated k-NN graph builder: :func:`dilated_knn` for :math:`(B, N, C)` points,
    :func:`knn_graph` for :math:`(n, C)` points with a ``batch`` vector. Stochastic dilation
    applies in training mode only.

    Args:
        k (int): Neighbours per point. (default: ``9``)
        dilation (int): Dilation :math:`d`. (default: ``1``)
        stochastic (bool): Stochastic dilation in training. (default: ``False``)
        epsilon (float): Its probability. (default: ``0.2``)
        chunk_size (int, optional): Query points per distance chunk.
    """

    def __init__(
        self,
        k: int = 9,
        dilation: int = 1,
        stochastic: bool = False,
        epsilon: float = 0.2,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if k < 1 or dilation < 1:
            raise ValueError(f"k={k} and dilation={dilation} must be at least 1")
        check_probability("epsilon", epsilon)
        self.k, self.dilation = k, dilation
        self.stochastic, self.epsilon = stochastic, epsilon
        self.chunk_size = chunk_size

    def forward(self, x: Tensor, batch: Tensor | None = None) -> Tensor:
        stochastic = self.stochastic and self.training
        if x.dim() == 3:
            if batch is not None:
                raise ValueError("batch applies to [num_points, channels] inputs only")
            return dilated_knn(x, self.k, self.dilation, stochastic, self.epsilon, self.chunk_size)
        return knn_graph(x, self.k, batch, self.dilation, stochastic, self.epsilon, self.chunk_size)

    def extra_repr(self) -> str:
        stochastic = f", stochastic=True, epsilon={self.epsilon}" if self.stochastic else ""
        return f"k={self.k}, dilation={self.dilation}{stochastic}"
