"""S3DIS semantic segmentation (Armeni et al., CVPR 2016) from the HDF5 blocks of PointNet's
``indoor3d_sem_seg_hdf5_data`` (the files PyG's ``S3DIS`` and the DeepGCNs read): blocks of
4096 points, 9 channels (xyz, rgb, xyz normalised by the room), 13 classes; one area held out
for testing (``test_area``, default 5, the DeepGCNs' and most papers' protocol; the 6-fold
protocol trains once per area, :func:`revgnn.training.six_fold`).

Found at ``<root>/{s3dis,S3DIS}/raw`` (PyG's layout; ``S3DIS`` is the reference's name),
``<root>/{s3dis,S3DIS}/indoor3d_sem_seg_hdf5_data`` or ``<root>/indoor3d_sem_seg_hdf5_data``:
``all_files.txt`` (the ``.h5`` files, in order), ``room_filelist.txt`` (the room of every
block, in the same order) and the ``.h5`` files (``data`` (B, 4096, 9), ``label`` (B, 4096));
needs h5py.

As the reference (PyG's ``S3DIS`` with ``NormalizeScale``): each block's xyz is centred and
scaled into :math:`[-1, 1]`; the other six channels are kept. The blocks are 1 m wide with a
0.5 m stride, so neighbouring blocks overlap by half: validation holds out whole rooms of the
training areas (``valid_fraction`` of them, seeded), never blocks of a room that is trained
on; ``valid_fraction=0`` selects on the test area, as the reference.
"""

from __future__ import annotations

import os.path as osp

import numpy as np
import torch
from torch import Tensor

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import PointClouds, find_folder, read_h5, selection_split
from revgnn.datasets.registry import register_dataset

__all__ = ["CLASSES", "FOLDERS", "load_s3dis", "normalize_scale"]

LAYOUT = "{all_files.txt, room_filelist.txt, <file>.h5 with data and label}"
#: Where the blocks are looked for under ``root``, in order.
FOLDERS = (
    "s3dis/raw", "S3DIS/raw", "s3dis/indoor3d_sem_seg_hdf5_data",
    "S3DIS/indoor3d_sem_seg_hdf5_data", "indoor3d_sem_seg_hdf5_data",
)  # fmt: skip
CLASSES = [
    "ceiling", "floor", "wall", "beam", "column", "window", "door",
    "table", "chair", "sofa", "bookcase", "board", "clutter",
]  # fmt: skip


@register_dataset(
    "s3dis",
    kind="points",
    reads=("test_area", "valid_fraction"),
    where="s3dis/raw/" + LAYOUT,
)
def load_s3dis(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """S3DIS with ``cfg.test_area`` held out (see the module docstring)."""
    assert root is not None
    if not 1 <= cfg.test_area <= 6:
        raise ValueError(f"test_area={cfg.test_area} must be one of 1..6")
    folder = find_folder(root, FOLDERS, "all_files.txt", "S3DIS")
    x, y, rooms = _read_blocks(folder)
    test = np.array([r.startswith(f"Area_{cfg.test_area}_") for r in rooms])
    if not test.any() or test.all():
        raise ValueError(
            f"{folder}: no blocks {'in' if not test.any() else 'outside'} Area_{cfg.test_area} "
            "(room_filelist.txt names each block's room, e.g. Area_5_office_1)"
        )
    train = np.flatnonzero(~test)
    split, info = selection_split(
        torch.from_numpy(train),
        torch.from_numpy(np.flatnonzero(test)),
        cfg.valid_fraction,
        cfg.split_seed,
        groups=[rooms[i] for i in train],
    )
    x[..., :3] = normalize_scale(x[..., :3])
    return PointClouds(
        name,
        x,
        y,
        split,
        num_classes=len(CLASSES),
        task="segmentation",
        metric="miou",
        class_names=CLASSES,
        split_info=f"Area_{cfg.test_area} held out; {info}",
    )


def normalize_scale(pos: Tensor) -> Tensor:
    r"""PyG's ``NormalizeScale`` per block: centred, then scaled by
    :math:`0.999999 / \max |p|` into :math:`(-1, 1)`. Shapes: :math:`(B, N, 3)`."""
    pos = pos - pos.mean(dim=-2, keepdim=True)
    scale = pos.abs().amax(dim=(-2, -1), keepdim=True).clamp_min(1e-12)
    return pos * (0.999999 / scale)


def _read_blocks(folder: str) -> tuple[Tensor, Tensor, list[str]]:
    rooms_file = osp.join(folder, "room_filelist.txt")
    if not osp.exists(rooms_file):
        raise FileNotFoundError(f"S3DIS: {rooms_file} is missing (expected {folder}/{LAYOUT})")
    with open(osp.join(folder, "all_files.txt")) as f:
        files = [osp.join(folder, osp.basename(line.strip())) for line in f if line.strip()]
    with open(rooms_file) as f:
        rooms = [line.strip() for line in f if line.strip()]
    xs, ys = [], []
    for path in files:
        if not osp.exists(path):
            raise FileNotFoundError(f"S3DIS: all_files.txt lists {path}, which does not exist")
        x, y = read_h5(path, "data", "label", "S3DIS")
        xs.append(torch.from_numpy(x))
        ys.append(torch.from_numpy(y))
        if xs[-1].dim() != 3 or xs[-1].size(-1) != 9 or ys[-1].shape != xs[-1].shape[:2]:
            raise ValueError(
                f"{path}: data {list(xs[-1].shape)} and label {list(ys[-1].shape)} are not "
                "[B, points, 9] and [B, points]"
            )
    x, y = torch.cat(xs), torch.cat(ys)
    if len(rooms) != x.size(0):
        raise ValueError(
            f"{rooms_file} names {len(rooms)} rooms for {x.size(0)} blocks: one line per block"
        )
    return x, y, rooms
