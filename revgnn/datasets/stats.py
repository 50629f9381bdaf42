"""The measurable properties of a node dataset that the default recipe adapts to."""

from __future__ import annotations

from typing import Any

import torch

from revgnn.config.adapt import GraphStats
from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["edge_homophily", "graph_stats"]

#: Rows of the feature matrix looked at to classify the features (all of them below this).
SAMPLE_ROWS = 4096
#: Edges between training nodes needed for a homophily estimate.
MIN_EDGES = 50


def edge_homophily(dataset: NodeDataset) -> float | None:
    r"""The adjusted homophily of Platonov et al. (ICLR 2023) over the edges between two
    *training* nodes: :math:`(h - \sum_k \bar{p}_k^2) / (1 - \sum_k \bar{p}_k^2)`, with
    :math:`h` the share of those edges whose labels agree and :math:`\bar{p}_k` the share of
    their endpoints in class :math:`k`: 0 when edges ignore the labels, 1 when they always
    join equal labels, negative when they prefer different labels; unlike :math:`h` it does
    not call an imbalanced graph homophilous. Only training labels are read. ``None`` for
    multi-label tasks (a single binary task counts as two classes) or with fewer than
    :data:`MIN_EDGES` such edges."""
    y = dataset.data.y
    if dataset.task == "multilabel":
        if y.dim() > 1 and y.size(-1) != 1:
            return None
        y = y.view(-1).long()
    if not isinstance(dataset.data.edge_index, torch.Tensor):
        return None
    known = torch.zeros(dataset.num_nodes, dtype=torch.bool)
    known[dataset.split["train"]] = True
    src, dst = dataset.data.edge_index
    both = known[src] & known[dst]
    if int(both.sum()) < MIN_EDGES:
        return None
    a, b = y[src[both]], y[dst[both]]
    agree = float((a == b).double().mean())
    share = torch.bincount(torch.cat([a, b])).double() / (2 * a.numel())
    expected = float((share**2).sum())
    return (agree - expected) / (1 - expected) if expected < 1 else None


def graph_stats(dataset: Any) -> GraphStats | None:
    """What the recipe may adapt to about a node dataset (``None`` for other kinds)."""
    if not isinstance(dataset, NodeDataset):
        return None
    x = dataset.data.x
    sample = x[: min(x.size(0), SAMPLE_ROWS)].float()
    return GraphStats(
        num_nodes=dataset.num_nodes,
        num_edges=dataset.num_edges,
        num_features=dataset.num_features,
        binary_features=bool(((sample == 0) | (sample == 1)).all()),
        nonnegative_features=bool((sample >= 0).all()),
        feature_density=float((sample != 0).double().mean()) if sample.numel() else 0.0,
    )
