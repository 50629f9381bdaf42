"""Amazon co-purchase (Computers, Photo) and Coauthor (CS, Physics) graphs (Shchur et al.,
"Pitfalls of Graph Neural Network Evaluation", 2018).

``root`` holds ``amazon/{Computers,Photo}/raw/*.npz`` and ``coauthor/{CS,Physics}/raw/*.npz``
(PyG's layouts), read with PyG's ``read_npz``. They have no official split: a seeded random
60/20/20 split is drawn.
"""

from __future__ import annotations

import os.path as osp

from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset, with_random_split
from revgnn.datasets.registry import register_dataset

__all__ = ["FILES", "load_npz_graph"]

FILES = {
    "computers": "amazon/Computers/raw/amazon_electronics_computers.npz",
    "photo": "amazon/Photo/raw/amazon_electronics_photo.npz",
    "cs": "coauthor/CS/raw/ms_academic_cs.npz",
    "physics": "coauthor/Physics/raw/ms_academic_phy.npz",
}


@register_dataset(*FILES, reads=("split_seed",), where="amazon/<Name>/raw or coauthor/<Name>/raw")
def load_npz_graph(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    """One of the four graphs (features as in the file), with a seeded random split."""
    from torch_geometric.io import read_npz

    path = osp.join(root, FILES[name])
    if not osp.exists(path):
        raise FileNotFoundError(f"{name}: {path} does not exist (root={root!r})")
    d = read_npz(path, to_undirected=True)
    data = Data(x=d.x, edge_index=d.edge_index, y=d.y)
    return with_random_split(
        name,
        data,
        int(d.y.max()) + 1,
        "multiclass",
        "acc",
        cfg.split_seed,
    )
