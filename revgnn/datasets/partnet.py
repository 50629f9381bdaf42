"""PartNet fine-grained part segmentation (Mo et al., CVPR 2019) from its HDF5 release.

``<root>/partnet/sem_seg_h5/<Category>-<level>/{train,val,test}-NN.h5`` (or, as the
DeepGCNs reference keeps it, ``<root>/partnet/raw/sem_seg_h5/...``; or ``<root>/sem_seg_h5``),
each file holding ``data`` (B, N, 3) xyz and ``label_seg`` (B, N) part labels, 0 meaning
"undefined"; one category and level per dataset (the DeepGCNs report level 3). The category
is a name (``Chair``) or, as the reference's ``--category``, its number in
:data:`CATEGORIES` (``1``: Bed). Label 0 is left out of the
mean part IoU, as in the reference; the number of parts is one more than the largest label.
"""

from __future__ import annotations

import glob
import os.path as osp

import torch

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import PointClouds, find_folder, read_h5
from revgnn.datasets.registry import register_dataset

__all__ = ["CATEGORIES", "load_partnet", "partnet_category"]

LAYOUT = "sem_seg_h5/<Category>-<level>/{train,val,test}-NN.h5 (data, label_seg)"
FOLDERS = ("partnet/sem_seg_h5", "partnet/raw/sem_seg_h5", "sem_seg_h5")
#: PartNet's 24 categories, numbered as the reference's ``--category``.
CATEGORIES = [
    "Bag", "Bed", "Bottle", "Bowl", "Chair", "Clock", "Dishwasher", "Display", "Door",
    "Earphone", "Faucet", "Hat", "Keyboard", "Knife", "Lamp", "Laptop", "Microwave", "Mug",
    "Refrigerator", "Scissors", "StorageFurniture", "Table", "TrashCan", "Vase",
]  # fmt: skip


def partnet_category(category: str) -> str:
    """A category's name from its name (any case) or its number in :data:`CATEGORIES`."""
    if category.isdigit():
        if int(category) >= len(CATEGORIES):
            raise ValueError(
                f"category={category}: PartNet's categories are numbered 0..{len(CATEGORIES) - 1}"
            )
        return CATEGORIES[int(category)]
    names = {c.lower(): c for c in CATEGORIES}
    if category.lower() not in names:
        raise ValueError(f"category={category!r} is not one of {', '.join(CATEGORIES)} (or 0..23)")
    return names[category.lower()]


@register_dataset(
    "partnet", kind="points", reads=("category", "level", "num_points"), where="partnet/" + LAYOUT
)
def load_partnet(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """One PartNet category at one level (``cfg.category``, ``cfg.level``)."""
    assert root is not None
    if not cfg.category:
        raise ValueError("PartNet needs a category (--category, e.g. Chair)")
    category = partnet_category(cfg.category)
    folder = find_folder(root, FOLDERS, f"{category}-{cfg.level}", "PartNet's sem_seg_h5 release")
    folder = osp.join(folder, f"{category}-{cfg.level}")
    xs, ys, split, start = [], [], {}, 0
    for part, prefix in (("train", "train"), ("valid", "val"), ("test", "test")):
        files = sorted(glob.glob(osp.join(folder, f"{prefix}-*.h5")))
        if not files:
            raise FileNotFoundError(f"PartNet: {folder} has no {prefix}-*.h5 file")
        for path in files:
            x, y = read_h5(path, "data", "label_seg", "PartNet")
            xs.append(torch.from_numpy(x))
            ys.append(torch.from_numpy(y))
        count = sum(x.size(0) for x in xs) - start
        split[part] = torch.arange(start, start + count)
        start += count
    y = torch.cat(ys)
    return PointClouds(
        f"{name} {category}-{cfg.level}",
        torch.cat(xs),
        y,
        split,
        num_classes=int(y.max()) + 1,
        task="segmentation",
        metric="miou",
        ignore_classes=(0,),
        split_info="official train / val / test files",
    )
