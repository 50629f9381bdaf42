"""The Planetoid citation graphs Cora and CiteSeer, public split; Cora ships inside the package.

``root`` holds ``planetoid/{Cora,CiteSeer}/raw/ind.*`` (PyG's ``Planetoid`` layout), read with
PyG's ``read_planetoid_data`` without writing anything.
"""

from __future__ import annotations

import os.path as osp

from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.registry import NoDataRoot, register_dataset

__all__ = ["BUNDLED_CORA", "FOLDERS", "load_cora"]

BUNDLED_CORA = osp.join(osp.dirname(__file__), "cora", "raw")
FOLDERS = {"cora": "planetoid/Cora/raw", "citeseer": "planetoid/CiteSeer/raw"}


def _planetoid(name: str, raw_dir: str) -> NodeDataset:
    from torch_geometric.io import read_planetoid_data

    prefix = {"cora": "cora", "citeseer": "citeseer"}[name]
    d = read_planetoid_data(raw_dir, prefix)
    split = {
        "train": d.train_mask.nonzero().view(-1),
        "valid": d.val_mask.nonzero().view(-1),
        "test": d.test_mask.nonzero().view(-1),
    }
    return NodeDataset(
        name,
        Data(x=d.x, edge_index=d.edge_index, y=d.y),
        split,
        int(d.y.max()) + 1,
        "multiclass",
        "acc",
        split_info="public Planetoid split",
    )


def load_cora() -> NodeDataset:
    """Cora with the public Planetoid split, from the copy shipped inside the package.

    2,708 nodes, 10,556 directed edges, 1,433 binary bag-of-words features (as in the files;
    the recipe's ``features`` step preprocesses them), 7 classes, 140 / 500 / 1,000 nodes.
    """
    return _planetoid("cora", BUNDLED_CORA)


@register_dataset("cora", "citeseer", needs_root=False, where="planetoid/<Name>/raw")
def load_planetoid(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    """Cora or CiteSeer from ``root`` (Cora without ``root``: the bundled copy)."""
    if root is None:
        if name != "cora":
            raise NoDataRoot(
                f"dataset {name!r} needs root= (--root), the data folder (it reads "
                f"<root>/{FOLDERS[name]}; only Cora ships with revgnn)"
            )
        return load_cora()
    path = osp.join(root, FOLDERS[name])
    if not osp.isdir(path):
        raise FileNotFoundError(f"{name}: {path} does not exist (root={root!r})")
    return _planetoid(name, path)
