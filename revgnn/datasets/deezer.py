"""Deezer Europe genres (Rozemberczki et al., "Characteristic Functions on Graphs", CIKM 2020):
84-label multi-label node prediction, ROC-AUC, ogbn-proteins' kind of task.

``root`` holds ``musae/deezer/{HU,RO}/{HU,RO}_edges.csv`` and ``*_genres.json``. No features
(``x = log(1 + degree)``) and no split (seeded random 60/20/20).
"""

from __future__ import annotations

import json
import os.path as osp

import torch
from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset, with_random_split
from revgnn.datasets.registry import register_dataset
from revgnn.utils.sparse import undirected_edges

__all__ = ["PREFIXES", "load_deezer"]

PREFIXES = {"deezer-hu": "musae/deezer/HU/HU", "deezer-ro": "musae/deezer/RO/RO"}


@register_dataset(*PREFIXES, reads=("split_seed",), where="musae/deezer/<HU|RO>")
def load_deezer(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    import pandas as pd

    path = osp.join(root, PREFIXES[name])
    if not osp.exists(path + "_edges.csv"):
        raise FileNotFoundError(f"{name}: {path}_edges.csv does not exist (root={root!r})")
    edges = pd.read_csv(path + "_edges.csv").to_numpy().T
    with open(path + "_genres.json") as f:
        genres = {int(k): v for k, v in json.load(f).items()}
    n = max(genres) + 1
    names = sorted({g for gs in genres.values() for g in gs})
    col = {g: i for i, g in enumerate(names)}
    y = torch.zeros(n, len(names))
    for node, gs in genres.items():
        y[node, [col[g] for g in gs]] = 1.0
    edge_index = undirected_edges(torch.from_numpy(edges).long(), n)
    data = Data(edge_index=edge_index, y=y, num_nodes=n)  # no features: NodeDataset adds them
    return with_random_split(name, data, len(names), "multilabel", "rocauc", cfg.split_seed)
