"""PartNet fine-grained part segmentation (Mo et al., CVPR 2019) from its HDF5 release.

``<root>/partnet/sem_seg_h5/<Category>-<level>/{train,val,test}-NN.h5``, each file holding
``data`` (B, N, 3) xyz and ``label_seg`` (B, N) part labels, 0 meaning "undefined"; one
category and level per dataset (the DeepGCNs report level 3). Label 0 is left out of the
mean part IoU, as in the reference; the number of parts is one more than the largest label.
"""

from __future__ import annotations

import glob
import os.path as osp

import numpy as np
import torch

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import PointClouds
from revgnn.datasets.registry import register_dataset

__all__ = ["load_partnet"]

LAYOUT = "sem_seg_h5/<Category>-<level>/{train,val,test}-NN.h5 (data, label_seg)"


@register_dataset(
    "partnet", kind="points", reads=("category", "level", "num_points"), where="partnet/" + LAYOUT
)
def load_partnet(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """One PartNet category at one level (``cfg.category``, ``cfg.level``)."""
    assert root is not None
    if not cfg.category:
        raise ValueError("PartNet needs a category (--category, e.g. Chair)")
    try:
        import h5py
    except ImportError:
        raise ImportError("PartNet needs h5py: pip install 'revgnn[points]'") from None
    folder = osp.join(root, "partnet", "sem_seg_h5", f"{cfg.category}-{cfg.level}")
    if not osp.isdir(folder):
        raise FileNotFoundError(
            f"PartNet: no folder {folder} (expected <root>/partnet/{LAYOUT}); download "
            "PartNet's sem_seg_h5 release there"
        )
    xs, ys, split, start = [], [], {}, 0
    for part, prefix in (("train", "train"), ("valid", "val"), ("test", "test")):
        files = sorted(glob.glob(osp.join(folder, f"{prefix}-*.h5")))
        if not files:
            raise FileNotFoundError(f"PartNet: {folder} has no {prefix}-*.h5 file")
        for path in files:
            with h5py.File(path, "r") as f:
                for key in ("data", "label_seg"):
                    if key not in f:
                        raise ValueError(f"{path} has no {key!r} dataset (keys: {list(f)})")
                xs.append(torch.from_numpy(np.asarray(f["data"], dtype=np.float32)))
                ys.append(torch.from_numpy(np.asarray(f["label_seg"], dtype=np.int64)))
        count = sum(x.size(0) for x in xs) - start
        split[part] = torch.arange(start, start + count)
        start += count
    y = torch.cat(ys)
    return PointClouds(
        f"{name} {cfg.category}-{cfg.level}",
        torch.cat(xs),
        y,
        split,
        num_classes=int(y.max()) + 1,
        task="segmentation",
        metric="miou",
        ignore_classes=(0,),
        split_info="official train / val / test files",
    )
