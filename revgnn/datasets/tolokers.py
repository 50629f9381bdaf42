"""Tolokers (Platonov et al., "A critical look at the evaluation of GNNs under heterophily",
ICLR 2023): binary, ROC-AUC, 10 given splits.

``root`` holds ``heterophilous/tolokers/raw/tolokers.npz`` (PyG's
``HeterophilousGraphDataset`` layout), read with NumPy.
"""

from __future__ import annotations

import os.path as osp

import numpy as np
import torch
from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.registry import register_dataset
from revgnn.utils.sparse import undirected_edges

__all__ = ["FILE", "load_tolokers"]

FILE = "heterophilous/tolokers/raw/tolokers.npz"


@register_dataset("tolokers", where=FILE)
def load_tolokers(
    name: str, root: str | None, cfg: DataConfig, split_index: int = 0
) -> NodeDataset:
    """Tolokers with its given split ``split_index`` (of 10)."""
    path = osp.join(root, FILE)
    if not osp.exists(path):
        raise FileNotFoundError(f"{name}: {path} does not exist (root={root!r})")
    raw = np.load(path)
    x = torch.from_numpy(raw["node_features"]).float()
    edge_index = undirected_edges(torch.from_numpy(raw["edges"]).t(), x.size(0))
    y = torch.from_numpy(raw["node_labels"]).float().view(-1, 1)
    num_splits = raw["train_masks"].shape[0]
    if not 0 <= split_index < num_splits:
        raise ValueError(f"split_index={split_index} must lie in [0, {num_splits})")
    split = {
        part: torch.from_numpy(raw[f"{key}_masks"][split_index]).nonzero().view(-1)
        for part, key in (("train", "train"), ("valid", "val"), ("test", "test"))
    }
    return NodeDataset(
        name,
        Data(x=x, edge_index=edge_index, y=y),
        split,
        1,
        "multilabel",
        "rocauc",
        split_info=f"given split {split_index} of {num_splits} (Platonov et al.)",
    )
