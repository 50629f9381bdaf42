"""BlogCatalog (Tang and Liu, KDD 2009): 39-label multi-label node prediction, ROC-AUC.

``root`` holds ``blogcatalog/multi_label_blog_catalog.mat``. No features
(``x = log(1 + degree)``) and no split (seeded random 60/20/20).
"""

from __future__ import annotations

import os.path as osp

import numpy as np
import torch
from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset, with_random_split
from revgnn.datasets.registry import register_dataset
from revgnn.utils.sparse import undirected_edges

__all__ = ["FILE", "load_blogcatalog"]

FILE = "blogcatalog/multi_label_blog_catalog.mat"


@register_dataset("blogcatalog", reads=("split_seed",), where=FILE)
def load_blogcatalog(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    import scipy.io

    path = osp.join(root, FILE)
    if not osp.exists(path):
        raise FileNotFoundError(f"{name}: {path} does not exist (root={root!r})")
    mat = scipy.io.loadmat(path)
    adj = mat["network"].tocoo()
    n = adj.shape[0]
    edge_index = undirected_edges(torch.from_numpy(np.stack([adj.row, adj.col])).long(), n)
    y = torch.from_numpy(np.asarray(mat["group"].todense())).float()
    data = Data(edge_index=edge_index, y=y, num_nodes=n)  # no features: NodeDataset adds them
    return with_random_split(
        name,
        data,
        int(y.size(1)),
        "multilabel",
        "rocauc",
        cfg.split_seed,
    )
