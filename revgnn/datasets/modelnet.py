"""ModelNet40 / ModelNet10 classification (Wu et al., CVPR 2015), from the HDF5 copy the
DeepGCNs and SGAS train on, or from the meshes through PyG.

**HDF5 (first choice, the reference's protocol).** ``modelnet40_ply_hdf5_2048/`` under
``<root>``, ``<root>/modelnet40`` or ``<root>/data``: ``ply_data_{train,test}N.h5`` with
``data`` float32 (B, 2048, 3) and ``label`` uint8 (B, 1), listed in ``train_files.txt`` /
``test_files.txt`` (else every ``ply_data_<split>*.h5`` in name order), class names in
``shape_names.txt``. As the reference: the first ``num_points`` (default 1024) of each
cloud's 2048 points, no resampling and no renormalisation (the copy is already centred and in
the unit sphere), the official 9,843 / 2,468 split, and the scale / shift / shuffle
augmentation in training.

**Meshes (second choice).** PyG's ``ModelNet`` layout,
``<root>/modelnet40/raw/<class>/{train,test}/<class>_NNNN.off``: ``num_points`` points sampled
by area once, with a fixed seed, centred and scaled into the unit sphere.

ModelNet has no validation split: ``valid_fraction`` (default 10%, seeded) of the training
clouds are held out for model selection; ``valid_fraction=0`` selects on the test split, as
the reference (whose published accuracies are the best test epoch). A folder holding the
other ModelNet (10 classes where 40 are expected, or the reverse) is named as such.
"""

from __future__ import annotations

import glob
import os
import os.path as osp

import numpy as np
import torch

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import PointClouds, read_h5, selection_split
from revgnn.datasets.pyg_local import pyg_local
from revgnn.datasets.registry import register_dataset

__all__ = ["MODELNET40_CLASSES", "load_modelnet", "read_modelnet_h5"]

OFF_LAYOUT = "raw/<class>/{train,test}/<class>_NNNN.off"
H5_FOLDER = "modelnet40_ply_hdf5_2048"
#: ModelNet40's classes in label order (the HDF5 copy's ``shape_names.txt``).
MODELNET40_CLASSES = [
    "airplane", "bathtub", "bed", "bench", "bookshelf", "bottle", "bowl", "car", "chair",
    "cone", "cup", "curtain", "desk", "door", "dresser", "flower_pot", "glass_box", "guitar",
    "keyboard", "lamp", "laptop", "mantel", "monitor", "night_stand", "person", "piano",
    "plant", "radio", "range_hood", "sink", "sofa", "stairs", "stool", "table", "tent",
    "toilet", "tv_stand", "vase", "wardrobe", "xbox",
]  # fmt: skip
MODELNET10_CLASSES = [
    "bathtub", "bed", "chair", "desk", "dresser", "monitor", "night_stand", "sofa", "table",
    "toilet",
]  # fmt: skip
CLASSES = {"modelnet10": MODELNET10_CLASSES, "modelnet40": MODELNET40_CLASSES}
#: Clouds and their labels.
Pair = tuple[torch.Tensor, torch.Tensor]


@register_dataset(
    "modelnet10",
    "modelnet40",
    kind="points",
    reads=("num_points", "valid_fraction"),
    where=f"{H5_FOLDER}/ply_data_*.h5, or modelnet40/{OFF_LAYOUT}",
)
def load_modelnet(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """ModelNet10 or ModelNet40 (see the module docstring) as :class:`PointClouds`."""
    assert root is not None
    h5 = [osp.join(root, d, H5_FOLDER) for d in ("", name, "data")]
    folder = next((f for f in h5 if osp.isdir(f)), None)
    if folder is not None:
        (x_train, y_train), (x_test, y_test), names = read_modelnet_h5(folder)
        source = f"HDF5 copy {folder}"
        num_points = cfg.num_points or 1024
        if num_points > x_train.size(1):
            raise ValueError(
                f"--num-points {num_points}: the HDF5 copy has {x_train.size(1)} points a cloud"
            )
        x_train, x_test = x_train[:, :num_points], x_test[:, :num_points]
    else:
        (x_train, y_train), (x_test, y_test), names = _read_meshes(name, root, cfg)
        source = f"meshes {osp.join(root, name)}"
    _check_classes(name, names, source)
    num_train, num = x_train.size(0), x_train.size(0) + x_test.size(0)
    split, info = selection_split(
        torch.arange(num_train), torch.arange(num_train, num), cfg.valid_fraction, cfg.split_seed
    )
    return PointClouds(
        name,
        torch.cat([x_train, x_test]),
        torch.cat([y_train, y_test]),
        split,
        num_classes=len(names),
        task="classification",
        metric="acc",
        class_names=names,
        augment=True,
        split_info=f"official train / test ({source}); {info}",
    )


def _check_classes(name: str, names: list[str], source: str) -> None:
    expected = CLASSES[name]
    if len(names) == len(expected):
        return
    other = next((n for n, c in CLASSES.items() if len(c) == len(names)), None)
    hint = f": that is {other}, use --dataset {other}" if other else ""
    raise ValueError(
        f"{name}: the {source} has {len(names)} classes, not {len(expected)}{hint} (an "
        "incomplete copy otherwise; delete a PyG processed/ folder left from it)"
    )


def read_modelnet_h5(folder: str) -> tuple[Pair, Pair, list[str]]:
    """``((x_train, y_train), (x_test, y_test), class_names)`` of a
    ``modelnet40_ply_hdf5_2048`` folder (see the module docstring)."""
    parts = []
    for split in ("train", "test"):
        files = _listed(folder, split)
        xs, ys = [], []
        for path in files:
            x, y = read_h5(path, "data", "label", "ModelNet's HDF5 copy")
            xs.append(x)
            ys.append(y.reshape(-1))
            if xs[-1].ndim != 3 or xs[-1].shape[-1] != 3 or len(ys[-1]) != len(xs[-1]):
                raise ValueError(
                    f"{path}: data {list(xs[-1].shape)} and label {list(ys[-1].shape)} are not "
                    "[B, points, 3] and [B, 1]"
                )
        parts.append((torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))))
    names_file = osp.join(folder, "shape_names.txt")
    if osp.exists(names_file):
        with open(names_file) as f:
            names = [line.strip() for line in f if line.strip()]
    else:
        count = int(max(int(y.max()) for _, y in parts)) + 1
        names = MODELNET40_CLASSES if count > 10 else MODELNET10_CLASSES
    return parts[0], parts[1], names


def _listed(folder: str, split: str) -> list[str]:
    listing = osp.join(folder, f"{split}_files.txt")
    if osp.exists(listing):
        with open(listing) as f:
            files = [osp.join(folder, osp.basename(line.strip())) for line in f if line.strip()]
        missing = [p for p in files if not osp.exists(p)]
        if missing:
            raise FileNotFoundError(f"{listing} lists {missing[0]}, which does not exist")
    else:
        files = sorted(glob.glob(osp.join(folder, f"ply_data_{split}*.h5")))
    if not files:
        raise FileNotFoundError(f"{folder}: no {split}_files.txt and no ply_data_{split}*.h5")
    return files


def _read_meshes(name: str, root: str, cfg: DataConfig) -> tuple[Pair, Pair, list[str]]:
    from torch_geometric.datasets import ModelNet
    from torch_geometric.transforms import SamplePoints

    folder = osp.join(root, name)
    raw = osp.join(folder, "raw")
    names = (
        sorted(d for d in os.listdir(raw) if osp.isdir(osp.join(raw, d))) if osp.isdir(raw) else []
    )
    # PyG checks any ModelNet folder for ModelNet10's classes only: check the right ones.
    if not cfg.download:
        if not names:
            raise FileNotFoundError(
                f"{name}: neither the HDF5 copy ({H5_FOLDER}/ under {root}, {folder} or "
                f"{osp.join(root, 'data')}) nor the meshes ({folder}/{OFF_LAYOUT}) are there; "
                "put one of them there, or pass --download to fetch the meshes"
            )
        _check_classes(name, names, f"meshes {folder}")
    kind = name.removeprefix("modelnet")
    sample = SamplePoints(cfg.num_points or 1024)
    parts = []
    with torch.random.fork_rng():  # SamplePoints draws from the global generator
        torch.manual_seed(cfg.split_seed)
        for train in (True, False):
            meshes = pyg_local(ModelNet, folder, cfg.download, OFF_LAYOUT, name=kind, train=train)
            if len(meshes) == 0:
                raise ValueError(
                    f"{folder}: no meshes in the {'train' if train else 'test'} folders"
                )
            clouds, labels = [], []
            for data in meshes:
                pos = sample(data.clone()).pos
                pos = pos - pos.mean(0)
                clouds.append(pos / pos.norm(dim=-1).max().clamp_min(1e-12))
                labels.append(int(data.y))
            parts.append((torch.stack(clouds), torch.tensor(labels)))
    return parts[0], parts[1], _class_folders(raw)


def _class_folders(raw: str) -> list[str]:
    if not osp.isdir(raw):
        return []
    return sorted(d for d in os.listdir(raw) if osp.isdir(osp.join(raw, d)))
