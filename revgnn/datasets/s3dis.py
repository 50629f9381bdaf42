"""S3DIS (Armeni et al., CVPR 2016) semantic segmentation through PyG's ``S3DIS``: blocks of
4096 points with 9 channels (xyz, rgb, xyz normalised by the room), 13 classes; one area
held out for testing (default Area 5, the DeepGCNs' and most papers' protocol).

``<root>/s3dis/raw/{all_files.txt, room_filelist.txt, <file>.h5}`` (each .txt ends with a
newline; each .h5 holds ``data`` (B, 4096, 9) and ``label`` (B, 4096)); needs h5py. The
validation split is 10% of the training blocks (seeded), never the held-out area.
"""

from __future__ import annotations

import os.path as osp

import torch

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import (
    PointClouds,
    hold_out,
)
from revgnn.datasets.pyg_local import pyg_local
from revgnn.datasets.registry import register_dataset

__all__ = ["CLASSES", "load_s3dis"]

LAYOUT = "raw/{all_files.txt, room_filelist.txt, <file>.h5 with data and label}"
CLASSES = [
    "ceiling", "floor", "wall", "beam", "column", "window", "door",
    "table", "chair", "sofa", "bookcase", "board", "clutter",
]  # fmt: skip


@register_dataset(
    "s3dis", kind="points", reads=("test_area", "num_points"), where="s3dis/" + LAYOUT
)
def load_s3dis(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """S3DIS with ``cfg.test_area`` held out (see the module docstring)."""
    from torch_geometric.datasets import S3DIS

    assert root is not None
    if not 1 <= cfg.test_area <= 6:
        raise ValueError(f"test_area={cfg.test_area} must be one of 1..6")
    try:
        import h5py  # noqa: F401 (PyG imports it while processing)
    except ImportError:
        raise ImportError("S3DIS needs h5py: pip install 'revgnn[points]'") from None
    folder = osp.join(root, "s3dis")
    parts = {
        train: pyg_local(S3DIS, folder, cfg.download, LAYOUT, test_area=cfg.test_area, train=train)
        for train in (True, False)
    }
    xs, ys = [], []
    for train in (True, False):
        data = parts[train]._data
        if data.pos is None or data.pos.numel() == 0:
            raise ValueError(
                f"{folder}: no blocks {'outside' if train else 'in'} Area_{cfg.test_area}"
            )
        n = len(parts[train])
        xs.append(torch.cat([data.pos, data.x], dim=-1).view(n, -1, 9))
        ys.append(data.y.view(n, -1))
    num_train = xs[0].size(0)
    train, valid = hold_out(torch.arange(num_train), 0.1, cfg.split_seed)
    test = torch.arange(num_train, num_train + xs[1].size(0))
    return PointClouds(
        name,
        torch.cat(xs),
        torch.cat(ys),
        {"train": train, "valid": valid, "test": test},
        num_classes=len(CLASSES),
        task="segmentation",
        metric="miou",
        class_names=CLASSES,
        split_info=f"Area_{cfg.test_area} held out; 10% of the other blocks as valid",
    )
