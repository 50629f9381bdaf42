"""The Planetoid citation graphs Cora and CiteSeer, public split; Cora ships inside the package.

``root`` holds ``planetoid/{Cora,CiteSeer}/raw/ind.*`` (PyG's ``Planetoid`` layout), read with
PyG's ``read_planetoid_data`` without writing anything.
"""

from __future__ import annotations

import os.path as osp

from torch import Tensor
from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.registry import register_dataset

__all__ = ["BUNDLED_CORA", "FOLDERS", "load_cora", "row_normalize"]

BUNDLED_CORA = osp.join(osp.dirname(__file__), "cora", "raw")
FOLDERS = {"cora": "planetoid/Cora/raw", "citeseer": "planetoid/CiteSeer/raw"}


def row_normalize(x: Tensor) -> Tensor:
    """Each row divided by its sum (GCN's feature preprocessing)."""
    return x / x.sum(dim=-1, keepdim=True).clamp_min(1.0)


def _planetoid(name: str, raw_dir: str, normalize_features: bool) -> NodeDataset:
    from torch_geometric.io import read_planetoid_data

    prefix = {"cora": "cora", "citeseer": "citeseer"}[name]
    d = read_planetoid_data(raw_dir, prefix)
    x = row_normalize(d.x) if normalize_features else d.x
    split = {
        "train": d.train_mask.nonzero().view(-1),
        "valid": d.val_mask.nonzero().view(-1),
        "test": d.test_mask.nonzero().view(-1),
    }
    return NodeDataset(
        name,
        Data(x=x, edge_index=d.edge_index, y=d.y),
        split,
        int(d.y.max()) + 1,
        "multiclass",
        "acc",
        split_info="public Planetoid split",
        notes="features row-normalised" if normalize_features else "",
    )


def load_cora(normalize_features: bool = True) -> NodeDataset:
    """Cora with the public Planetoid split, from the copy shipped inside the package.

    2,708 nodes, 10,556 directed edges, 1,433 features, 7 classes, 140 / 500 / 1,000 nodes.
    Features are row-normalised (GCN's preprocessing) unless ``normalize_features=False``.
    """
    return _planetoid("cora", BUNDLED_CORA, normalize_features)


@register_dataset("cora", "citeseer", needs_root=False, where="planetoid/<Name>/raw")
def load_planetoid(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    """Cora or CiteSeer from ``root`` (Cora without ``root``: the bundled copy)."""
    if root is None:
        if name != "cora":
            raise ValueError(f"dataset {name!r} needs root= (--root), the data folder")
        return load_cora()
    path = osp.join(root, FOLDERS[name])
    if not osp.isdir(path):
        raise FileNotFoundError(f"{name}: {path} does not exist (root={root!r})")
    return _planetoid(name, path, True)
