"""Real node-prediction datasets from a local data folder, loaded without writing anything.

``root`` is laid out as the project's shared data folder (see its README.md)::

    planetoid/{Cora,CiteSeer}/raw/ind.*            Planetoid, public split
    amazon/{Computers,Photo}/raw/*.npz             no split: seeded random split
    coauthor/{CS,Physics}/raw/*.npz                no split: seeded random split
    heterophilous/tolokers/raw/tolokers.npz        10 given splits, ROC-AUC
    musae/deezer/{HU,RO}/*_edges.csv, *_genres.json  84-label multi-label, no split
    blogcatalog/multi_label_blog_catalog.mat       39-label multi-label, no split

PyG's reading functions are used where they exist (``read_planetoid_data``, ``read_npz``);
tolokers, Deezer and BlogCatalog get small readers. None of them writes a ``processed/``
folder, so a read-only data folder works as is. Cora also ships inside the package
(:func:`load_cora`).
"""

from __future__ import annotations

import json
import os.path as osp

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import degree, to_undirected

from revgnn.datasets.node_dataset import NodeDataset, random_split

__all__ = ["BUNDLED_CORA", "REAL_DATASETS", "load_cora", "load_real"]

BUNDLED_CORA = osp.join(osp.dirname(__file__), "cora", "raw")

# name -> (kind, path under root)
REAL_DATASETS: dict[str, tuple[str, str]] = {
    "cora": ("planetoid", "planetoid/Cora/raw"),
    "citeseer": ("planetoid", "planetoid/CiteSeer/raw"),
    "computers": ("npz", "amazon/Computers/raw/amazon_electronics_computers.npz"),
    "photo": ("npz", "amazon/Photo/raw/amazon_electronics_photo.npz"),
    "cs": ("npz", "coauthor/CS/raw/ms_academic_cs.npz"),
    "physics": ("npz", "coauthor/Physics/raw/ms_academic_phy.npz"),
    "tolokers": ("tolokers", "heterophilous/tolokers/raw/tolokers.npz"),
    "deezer-hu": ("deezer", "musae/deezer/HU/HU"),
    "deezer-ro": ("deezer", "musae/deezer/RO/RO"),
    "blogcatalog": ("mat", "blogcatalog/multi_label_blog_catalog.mat"),
}


def _row_normalize(x: Tensor) -> Tensor:
    return x / x.sum(dim=-1, keepdim=True).clamp_min(1.0)


def _planetoid(name: str, raw_dir: str, normalize_features: bool) -> NodeDataset:
    from torch_geometric.io import read_planetoid_data

    prefix = {"cora": "cora", "citeseer": "citeseer"}[name]
    d = read_planetoid_data(raw_dir, prefix)
    x = _row_normalize(d.x) if normalize_features else d.x
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


def _structural_features(edge_index: Tensor, num_nodes: int) -> Tensor:
    # Featureless graphs: log(1 + degree), one column.
    return torch.log1p(degree(edge_index[0], num_nodes)).view(-1, 1)


def _with_random_split(
    name: str, data: Data, num_classes: int, task: str, metric: str, seed: int, notes: str
) -> NodeDataset:
    split = random_split(int(data.num_nodes), 0.6, 0.2, seed)
    info = f"no official split: random 60/20/20 split, seed={seed}"
    return NodeDataset(name, data, split, num_classes, task, metric, None, info, notes)


def load_real(
    name: str,
    root: str,
    *,
    split_seed: int = 0,
    split_index: int = 0,
    normalize_features: bool = True,
) -> NodeDataset:
    """Load one of :data:`REAL_DATASETS` from ``root``.

    Args:
        name (str): Dataset name (``"cora"``, ``"citeseer"``, ``"computers"``, ``"photo"``,
            ``"cs"``, ``"physics"``, ``"tolokers"``, ``"deezer-hu"``, ``"deezer-ro"``,
            ``"blogcatalog"``).
        root (str): The data folder (layout in the module docstring).
        split_seed (int): Seed of the random 60/20/20 split of datasets that have none.
        split_index (int): Which of tolokers' 10 given splits.
        normalize_features (bool): Row-normalise bag-of-words features (Planetoid, Amazon,
            Coauthor).
    """
    if name not in REAL_DATASETS:
        raise ValueError(f"name={name!r} is not one of {sorted(REAL_DATASETS)}")
    kind, rel = REAL_DATASETS[name]
    path = osp.join(root, rel)
    check = path if kind != "deezer" else path + "_edges.csv"
    if not osp.exists(check):
        raise FileNotFoundError(f"{name}: {check} does not exist (root={root!r})")

    if kind == "planetoid":
        return _planetoid(name, path, normalize_features)

    if kind == "npz":
        from torch_geometric.io import read_npz

        d = read_npz(path, to_undirected=True)
        x = _row_normalize(d.x) if normalize_features else d.x
        data = Data(x=x, edge_index=d.edge_index, y=d.y)
        notes = "features row-normalised" if normalize_features else ""
        return _with_random_split(
            name, data, int(d.y.max()) + 1, "multiclass", "acc", split_seed, notes
        )

    if kind == "tolokers":
        raw = np.load(path)
        x = torch.from_numpy(raw["node_features"]).float()
        edge_index = to_undirected(torch.from_numpy(raw["edges"]).t(), num_nodes=x.size(0))
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

    if kind == "deezer":
        import pandas as pd

        edges = pd.read_csv(path + "_edges.csv").to_numpy().T
        with open(path + "_genres.json") as f:
            genres = {int(k): v for k, v in json.load(f).items()}
        n = max(genres) + 1
        names = sorted({g for gs in genres.values() for g in gs})
        col = {g: i for i, g in enumerate(names)}
        y = torch.zeros(n, len(names))
        for node, gs in genres.items():
            y[node, [col[g] for g in gs]] = 1.0
        edge_index = to_undirected(torch.from_numpy(edges).long(), num_nodes=n)
        data = Data(x=_structural_features(edge_index, n), edge_index=edge_index, y=y)
        return _with_random_split(
            name, data, len(names), "multilabel", "rocauc", split_seed, "x = log(1 + degree)"
        )

    # BlogCatalog (.mat)
    import scipy.io

    mat = scipy.io.loadmat(path)
    adj = mat["network"].tocoo()
    n = adj.shape[0]
    edge_index = to_undirected(torch.from_numpy(np.stack([adj.row, adj.col])).long(), num_nodes=n)
    y = torch.from_numpy(np.asarray(mat["group"].todense())).float()
    data = Data(x=_structural_features(edge_index, n), edge_index=edge_index, y=y)
    return _with_random_split(
        name, data, int(y.size(1)), "multilabel", "rocauc", split_seed, "x = log(1 + degree)"
    )
