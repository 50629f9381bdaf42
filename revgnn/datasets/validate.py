"""Checks a dataset before training, so bad input fails at once with a clear message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from revgnn.utils.checks import nonfinite, transpose_hint
from revgnn.utils.warn import warn_user

if TYPE_CHECKING:
    from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["check_edge_range", "validate"]


def check_edge_range(name: str, edge_index: Tensor, n: int) -> None:
    """Raise a :class:`ValueError` naming dataset ``name`` unless ``edge_index`` is
    :math:`(2, E)` with every node in ``[0, n)``."""
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(
            f"{name}: edge_index must have shape (2, E), got {tuple(edge_index.shape)}"
            f"{transpose_hint(edge_index)}"
        )
    if edge_index.numel() > 0:
        lo, hi = int(edge_index.min()), int(edge_index.max())
        if lo < 0 or hi >= n:
            raise ValueError(
                f"{name}: edge_index refers to node {lo if lo < 0 else hi}, outside "
                f"[0, {n}) for num_nodes={n}"
            )


def validate(dataset: NodeDataset) -> NodeDataset:
    """Raise a :class:`ValueError` naming the dataset and the problem, or return ``dataset``.

    Checked: the edge index lies in ``[0, num_nodes)``; node and edge features are finite;
    ``edge_attr`` has one row per edge; every split part is non-empty and indexes existing
    nodes; labels lie in the class range (multiclass) or are 0/1 (multilabel). Split parts
    that share nodes are named in a warning (scores on a part that shares the training nodes
    are not held-out scores).
    """
    name, data = dataset.name, dataset.data
    n = dataset.num_nodes

    edge_index = data.edge_index
    check_edge_range(name, edge_index, n)

    _check_finite(name, "node features x", data.x)
    if data.x.size(0) != n:
        raise ValueError(f"{name}: node features x have {data.x.size(0)} rows for {n} nodes")
    edge_attr = data.get("edge_attr")
    if edge_attr is not None:
        if edge_attr.size(0) != edge_index.size(1):
            raise ValueError(
                f"{name}: edge_attr has {edge_attr.size(0)} rows but edge_index has "
                f"{edge_index.size(1)} edges"
            )
        _check_finite(name, "edge features edge_attr", edge_attr)

    for part in ("train", "valid", "test"):
        idx = dataset.split.get(part)
        if idx is None or idx.numel() == 0:
            raise ValueError(f"{name}: the {part!r} split is empty")
        if int(idx.min()) < 0 or int(idx.max()) >= n:
            raise ValueError(f"{name}: the {part!r} split indexes nodes outside [0, {n})")
    _warn_overlaps(name, dataset.split, n)

    y = data.y
    labelled = torch.cat([dataset.split[p] for p in ("train", "valid", "test")])
    if dataset.task == "multiclass":
        y = y.view(-1)[labelled]
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= dataset.num_classes:
            raise ValueError(
                f"{name}: label {lo if lo < 0 else hi} lies outside the class range "
                f"[0, {dataset.num_classes})"
            )
    else:
        if y.dim() != 2 or y.size(1) != dataset.num_classes:
            raise ValueError(
                f"{name}: multilabel y must have shape (N, {dataset.num_classes}), "
                f"got {tuple(y.shape)}"
            )
        y = y[labelled]
        bad = ~((y == 0) | (y == 1))
        if bool(bad.any()):
            raise ValueError(
                f"{name}: multilabel targets must be 0 or 1; found "
                f"{y[bad][0].item()!r} (labels outside the class range)"
            )
    return dataset


def _check_finite(name: str, what: str, t: Tensor) -> None:
    found = nonfinite(t)
    if found is not None:
        raise ValueError(
            f"{name}: {what} contain {found[0]} NaN/inf values (first in row {found[1]})"
        )


def _warn_overlaps(name: str, split: dict[str, Tensor], n: int) -> None:
    member = {p: torch.zeros(n, dtype=torch.bool).index_fill_(0, split[p].cpu(), True)
              for p in ("train", "valid", "test")}  # fmt: skip
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        shared = int((member[a] & member[b]).sum())
        if shared:
            warn_user(
                f"{name}: the {a!r} and the {b!r} split share {shared} "
                f"{'node' if shared == 1 else 'nodes'}, so the {b!r} scores are not of "
                "held-out nodes; check the masks or indices"
            )
