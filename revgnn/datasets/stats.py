"""The measurable properties of a node dataset that the default recipe adapts to."""

from __future__ import annotations

from typing import Any

from revgnn.config.adapt import GraphStats
from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["graph_stats"]

#: Rows of the feature matrix looked at to classify the features (all of them below this).
SAMPLE_ROWS = 4096


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
        num_train=int(dataset.split["train"].numel()),
        multilabel=dataset.task == "multilabel",
    )
