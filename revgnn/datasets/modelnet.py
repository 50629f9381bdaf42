"""ModelNet10 / ModelNet40 (Wu et al., CVPR 2015) through PyG's ``ModelNet``: meshes, from
which ``num_points`` points (default 1024) are sampled by area once, with a fixed seed, and
centred and scaled into the unit sphere
(the layout of the DeepGCNs' HDF5 copy).

``<root>/modelnet40/raw/<class>/{train,test}/<class>_NNNN.off`` (likewise ``modelnet10``);
PyG's ``raw_file_names`` lists the ModelNet10 classes for both. ModelNet has no validation
split: 10% of the training meshes (seeded) are held out for model selection (the reference
selects on the test split).
"""

from __future__ import annotations

import os
import os.path as osp

import torch

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import (
    PointClouds,
    hold_out,
)
from revgnn.datasets.pyg_local import pyg_local
from revgnn.datasets.registry import register_dataset

__all__ = ["load_modelnet"]

LAYOUT = "raw/<class>/{train,test}/<class>_NNNN.off"


@register_dataset(
    "modelnet10", "modelnet40", kind="points", reads=("num_points",), where="modelnet40/" + LAYOUT
)
def load_modelnet(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """ModelNet10 or ModelNet40 (see the module docstring) as :class:`PointClouds`."""
    from torch_geometric.datasets import ModelNet
    from torch_geometric.transforms import SamplePoints

    assert root is not None
    folder = osp.join(root, name)
    kind = name.removeprefix("modelnet")
    parts = {
        train: pyg_local(ModelNet, folder, cfg.download, LAYOUT, name=kind, train=train)
        for train in (True, False)
    }
    num_points = cfg.num_points or 1024
    sample = SamplePoints(num_points)
    clouds, labels = [], []
    with torch.random.fork_rng():  # SamplePoints draws from the global generator
        torch.manual_seed(cfg.split_seed)
        for train in (True, False):
            for data in parts[train]:
                pos = sample(data.clone()).pos
                pos = pos - pos.mean(0)
                clouds.append(pos / pos.norm(dim=-1).max().clamp_min(1e-12))
                labels.append(int(data.y))
    num_train = len(parts[True])
    if num_train == 0 or len(parts[False]) == 0:
        raise ValueError(f"{folder}: no meshes in the train or the test folders ({LAYOUT})")
    train, valid = hold_out(torch.arange(num_train), 0.1, cfg.split_seed)
    test = torch.arange(num_train, len(clouds))
    raw = parts[True].raw_dir
    names = sorted(d for d in os.listdir(raw) if osp.isdir(osp.join(raw, d)))
    expected = int(kind)
    if len(names) != expected:
        raise ValueError(
            f"{name}: {raw} holds {len(names)} class folders, not {expected}: an incomplete or "
            f"wrong copy (ModelNet10's folder for modelnet40?); give the full ModelNet{kind} "
            "and delete its processed/ folder"
        )
    return PointClouds(
        name,
        torch.stack(clouds),
        torch.tensor(labels),
        {"train": train, "valid": valid, "test": test},
        num_classes=len(names),
        task="classification",
        metric="acc",
        class_names=names,
        augment=True,
        split_info="official train / test, 10% of train held out as valid",
    )
