"""Data parallelism under ``torchrun``: joining the group, sharing each epoch's batches."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor

__all__ = [
    "batch_digests",
    "check_same_batches",
    "init_distributed",
    "rank_seed",
    "shard_batches",
]


def init_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """(world size, rank, device) of this process.

    Joins the process group that ``torchrun`` describes in the environment (``WORLD_SIZE``,
    ``RANK``, ``MASTER_ADDR``, ...) unless one is initialised already: gloo on CPU, nccl on
    CUDA. On CUDA an index-less ``device`` becomes ``cuda:LOCAL_RANK``. Without either, the
    run is single-process: ``(1, 0, device)``.
    """
    if not dist.is_available():
        return 1, 0, device
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return 1, 0, device
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    world, rank = dist.get_world_size(), dist.get_rank()
    if world > 1 and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return world, rank, device


def rank_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of rank ``rank``'s global generator in ``epoch`` (dropout differs by rank)."""
    state = np.random.SeedSequence([seed, epoch, rank]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def _digest(batch: Any) -> str:
    h = hashlib.sha1()
    items = batch.to_dict().items() if hasattr(batch, "to_dict") else [("batch", batch)]
    for key, value in sorted(items, key=lambda kv: kv[0]):
        if isinstance(value, Tensor):
            h.update(key.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _digest_plan(plan: Any) -> str:
    h = hashlib.sha1()

    def feed(value: Any) -> None:
        if isinstance(value, Tensor):
            h.update(str(value.dtype).encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
        elif isinstance(value, (list, tuple)):
            h.update(f"[{len(value)}".encode())
            for v in value:
                feed(v)
        else:
            h.update(repr(value).encode())

    feed(plan)
    return h.hexdigest()


def batch_digests(batches: Sequence[Any]) -> list[str]:
    """One digest per batch: of its plan where lazy batches have one (none is built), else
    of its tensors."""
    if getattr(batches, "planned", False):
        return [_digest_plan(batches.plan(k)) for k in range(len(batches))]
    return [_digest(b) for b in batches]


def check_same_batches(batches: Sequence[Any]) -> None:
    """Every rank draws the epoch's batches itself; fail when one drew others (e.g. a METIS
    build that differs between machines), which would silently train on the wrong data."""
    digest = batch_digests(batches)
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, digest)
    if any(g != gathered[0] for g in gathered):
        raise RuntimeError(
            "the ranks drew different training batches; give every rank the same data, "
            "seed and METIS assignment (e.g. a shared metis_cache folder)"
        )


def whole_rounds(batches: Sequence[Any]) -> Sequence[Any]:
    """``batches`` cut to a multiple of the process group's size (unchanged without one): the
    tasks whose batch count is not theirs to choose (clouds, graphs) drop the last few
    batches of a shuffled epoch so that every rank takes the same number of steps."""
    if not (dist.is_available() and dist.is_initialized()):
        return batches
    world = dist.get_world_size()
    return batches[: len(batches) - len(batches) % world] or batches


def shard_batches(batches: Sequence[Any], rank: int, world_size: int) -> Sequence[Any]:
    """The share of rank ``rank`` of one epoch's batches: ``rank, rank + P, rank + 2P, ...``.

    Every rank must take the same number of optimiser steps (each step is one gradient
    all-reduce), so the number of batches must be a multiple of ``world_size`` :math:`P`.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank={rank} must lie in [0, world_size={world_size})")
    if len(batches) % world_size != 0:
        raise ValueError(
            f"{len(batches)} batches per epoch cannot be shared equally by world_size="
            f"{world_size} processes: make the number of parts (num_parts / --parts) a "
            "multiple of the number of processes"
        )
    return batches[rank::world_size]
