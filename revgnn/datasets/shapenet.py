"""ShapeNet part segmentation (Yi et al., SIGGRAPH Asia 2016) through PyG's ``ShapeNet``: 16
categories, 50 part labels; each shape sampled to ``num_points`` points (default 2048) once,
with a fixed seed; official train / val / test lists.

``<root>/shapenet/raw/<synset>/<shape>.txt`` (rows ``x y z nx ny nz label``) for the 16
synset folders, and ``raw/train_test_split/shuffled_{train,val,test}_file_list.json``.

Scored as the literature reports it: per shape over its category's parts, the mean over
shapes (``instance_miou``, the selection metric) and over categories (``class_miou``), see
:class:`~revgnn.datasets.point_metrics.ShapeIoU`.
"""

from __future__ import annotations

import os.path as osp

import torch

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import (
    PointClouds,
    stack_clouds,
)
from revgnn.datasets.pyg_local import pyg_local
from revgnn.datasets.registry import register_dataset

__all__ = ["load_shapenet"]

LAYOUT = "raw/<16 synset folders>/*.txt and raw/train_test_split/shuffled_*_file_list.json"


@register_dataset(
    "shapenet", kind="points", reads=("category", "num_points"), where="shapenet/" + LAYOUT
)
def load_shapenet(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """ShapeNet parts, one category (``cfg.category``) or all (see the module docstring)."""
    from torch_geometric.datasets import ShapeNet

    assert root is not None
    folder = osp.join(root, "shapenet")
    categories = [cfg.category] if cfg.category else None
    if cfg.category and cfg.category not in ShapeNet.category_ids:
        raise ValueError(
            f"category={cfg.category!r} is not one of {', '.join(ShapeNet.category_ids)}"
        )
    num_points = cfg.num_points or 2048
    xs, ys, cats, split, start = [], [], [], {}, 0
    names = list(ShapeNet.seg_classes)
    for part, pyg_split in (("train", "train"), ("valid", "val"), ("test", "test")):
        ds = pyg_local(
            ShapeNet,
            folder,
            cfg.download,
            LAYOUT,
            categories=categories,
            include_normals=False,
            split=pyg_split,
        )
        if len(ds) == 0:
            raise ValueError(
                f"{folder}: the {pyg_split} list names no shape of {categories or 'any category'}"
            )
        clouds = [d.pos for d in ds]
        # PyG numbers a shape's category within the categories it was asked for.
        cats += [names.index(ds.categories[int(d.category)]) for d in ds]
        x, y = stack_clouds(clouds, [d.y for d in ds], num_points, cfg.split_seed)
        xs.append(x)
        ys.append(y)
        split[part] = torch.arange(start, start + len(clouds))
        start += len(clouds)
    suffix = f" ({cfg.category})" if cfg.category else ""
    return PointClouds(
        name + suffix,
        torch.cat(xs),
        torch.cat(ys),
        split,
        num_classes=50,
        task="segmentation",
        metric="instance_miou",
        categories=torch.tensor(cats),
        category_parts=[ShapeNet.seg_classes[n] for n in names],
        split_info="official train / val / test lists",
    )
