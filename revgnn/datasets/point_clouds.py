"""Point-cloud datasets as dense tensors, validated, and their registry.

A :class:`PointClouds` holds every cloud of a dataset as one tensor :math:`(S, N, C)` (xyz
first), labels per cloud :math:`(S,)` or per point :math:`(S, N)`, and the splits as index
tensors. Each dataset family is one file that registers its loader with
:func:`~revgnn.datasets.register_dataset` (``kind="points"``: S3DIS, ModelNet, ShapeNet,
PartNet, the synthetic sets).
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from revgnn.utils.checks import all_finite

__all__ = [
    "POINT_TASKS",
    "PointClouds",
    "find_folder",
    "hold_out",
    "read_h5",
    "selection_split",
    "stack_clouds",
]

#: What a point-cloud dataset predicts: a class per cloud, or one per point.
POINT_TASKS = ("classification", "segmentation")


@dataclass
class PointClouds:
    """A point-cloud dataset in memory.

    Args:
        name (str): For reports.
        x (Tensor): Points :math:`(S, N, C)`, float; channels 0-2 are xyz.
        y (Tensor): Labels, long: :math:`(S,)` (classification) or :math:`(S, N)`
            (segmentation).
        split (dict): ``train`` / ``valid`` / ``test`` cloud indices (``valid`` may equal
            ``test`` where a dataset has no validation split; :attr:`split_info` says so).
        num_classes (int): Classes (or parts).
        task (str): ``"classification"`` or ``"segmentation"``.
        metric (str): The score the loop selects on (``"acc"``, ``"miou"``).
        class_names (list of str, optional): For reports.
        ignore_classes (tuple of int): Classes left out of the mean IoU (PartNet's 0,
            "undefined").
        augment (bool): Whether training applies the reference's scale / shift / shuffle
            augmentation (ModelNet).
        split_info (str): How the split was made.
        categories (Tensor, optional): Part segmentation: the category of every cloud
            :math:`(S,)`, scored per shape over its category's parts
            (:class:`~revgnn.datasets.point_metrics.ShapeIoU`).
        category_parts (list of list of int, optional): The part labels of each category.
    """

    name: str
    x: Tensor
    y: Tensor
    split: dict[str, Tensor]
    num_classes: int
    task: str
    metric: str
    class_names: list[str] | None = None
    ignore_classes: tuple[int, ...] = ()
    augment: bool = False
    split_info: str = ""
    notes: list[str] = field(default_factory=list)
    categories: Tensor | None = None
    category_parts: list[list[int]] | None = None

    def __post_init__(self) -> None:
        if self.task not in POINT_TASKS:
            raise ValueError(f"task={self.task!r} is not one of {', '.join(POINT_TASKS)}")
        if self.x.dim() != 3 or not self.x.is_floating_point():
            raise ValueError(
                f"{self.name}: x must be float clouds [num_clouds, num_points, channels], got "
                f"{self.x.dtype} {list(self.x.shape)}"
            )
        if self.x.size(-1) < 3:
            raise ValueError(f"{self.name}: clouds need xyz, got {self.x.size(-1)} channels")
        if not all_finite(self.x):
            raise ValueError(f"{self.name}: the points hold NaN or infinite values")
        want = self.x.shape[:1] if self.task == "classification" else self.x.shape[:2]
        if tuple(self.y.shape) != tuple(want):
            raise ValueError(
                f"{self.name}: {self.task} labels must have shape {list(want)}, got "
                f"{list(self.y.shape)}"
            )
        self.y = self.y.long()
        if self.y.numel() and (int(self.y.min()) < 0 or int(self.y.max()) >= self.num_classes):
            raise ValueError(
                f"{self.name}: labels span [{int(self.y.min())}, {int(self.y.max())}], outside "
                f"[0, num_classes={self.num_classes})"
            )
        if (self.categories is None) != (self.category_parts is None):
            raise ValueError(f"{self.name}: categories and category_parts go together")
        if self.categories is not None and self.category_parts is not None:
            cats = self.categories = self.categories.long()
            count = len(self.category_parts)
            fits = int(cats.min()) >= 0 and int(cats.max()) < count
            if cats.shape != self.x.shape[:1] or not fits:
                raise ValueError(
                    f"{self.name}: categories must hold one of 0..{count - 1} "
                    f"per cloud ({self.x.size(0)})"
                )
        for part in ("train", "valid", "test"):
            idx = self.split.get(part)
            if idx is None or idx.numel() == 0:
                raise ValueError(f"{self.name}: split[{part!r}] is missing or empty")
            idx = idx.long()
            if int(idx.min()) < 0 or int(idx.max()) >= self.x.size(0):
                raise ValueError(f"{self.name}: split[{part!r}] indexes outside the clouds")
            self.split[part] = idx

    @property
    def num_points(self) -> int:
        return self.x.size(1)

    @property
    def num_features(self) -> int:
        return self.x.size(-1)

    def describe(self) -> str:
        sizes = "/".join(str(len(self.split[k])) for k in ("train", "valid", "test"))
        return (
            f"{self.name}: {self.x.size(0):,} clouds x {self.num_points:,} points x "
            f"{self.num_features} channels, {self.num_classes} classes ({self.task}), split "
            f"{sizes} ({self.split_info}), metric {self.metric}"
        )


def stack_clouds(
    clouds: Sequence[Tensor], labels: Sequence[Tensor] | None, num_points: int, seed: int
) -> tuple[Tensor, Tensor | None]:
    """Clouds of any sizes as one :math:`(S, N, C)` tensor of ``num_points`` points each:
    clouds of that size are kept as they are, others are sampled (without replacement when
    large enough, with it otherwise) by a generator seeded with ``seed``; per-point
    ``labels`` follow their points."""
    gen = torch.Generator().manual_seed(seed)
    xs, ys = [], []
    for i, cloud in enumerate(clouds):
        n = cloud.size(0)
        if n == 0:
            raise ValueError(f"cloud {i} has no points")
        if n == num_points:
            idx = None
        elif n > num_points:
            idx = torch.randperm(n, generator=gen)[:num_points]
        else:
            idx = torch.randint(n, (num_points,), generator=gen)
        xs.append(cloud if idx is None else cloud[idx])
        if labels is not None:
            ys.append(labels[i] if idx is None else labels[i][idx])
    return torch.stack(xs), (torch.stack(ys) if labels is not None else None)


def hold_out(train: Tensor, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """``(train, valid)``: a seeded ``fraction`` of the training indices held out for model
    selection (datasets without a validation split must not select on their test split)."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction={fraction} must lie in (0, 1)")
    perm = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))]
    k = max(1, round(len(train) * fraction))
    if k >= len(train):
        raise ValueError(f"{len(train)} training clouds are too few to hold out {fraction:.0%}")
    return perm[k:].sort().values, perm[:k].sort().values


def selection_split(
    train: Tensor,
    test: Tensor,
    fraction: float,
    seed: int,
    groups: Sequence[str] | None = None,
) -> tuple[dict[str, Tensor], str]:
    """The split of a dataset with official ``train`` / ``test`` clouds only (index
    tensors) and how it was made: a seeded ``fraction`` of the training clouds held out as
    ``valid``, or, with ``groups`` (one name per training cloud, e.g. S3DIS's rooms), that
    fraction of the groups, whole, so that no validation cloud overlaps a training one;
    ``fraction=0`` selects on the test split."""
    if fraction == 0:
        return {"train": train, "valid": test, "test": test}, (
            "validation = test (the reference's protocol: model selection on the test split)"
        )
    if groups is None:
        kept, valid = hold_out(train, fraction, seed)
        return {"train": kept, "valid": valid, "test": test}, (
            f"{fraction:.0%} of the training clouds held out as validation"
        )
    if len(groups) != len(train):
        raise ValueError(f"{len(groups)} group names for {len(train)} training clouds")
    names = sorted(set(groups))
    if len(names) < 2:
        raise ValueError(f"one group ({names}) is too few to hold out {fraction:.0%} of them")
    lookup = {n: i for i, n in enumerate(names)}
    ids = torch.tensor([lookup[g] for g in groups])
    _, held = hold_out(torch.arange(len(names)), fraction, seed)
    mask = torch.isin(ids, held)
    split = {"train": train[~mask], "valid": train[mask], "test": test}
    return split, f"{len(held)} of {len(names)} training rooms held out whole as validation"


def find_folder(root: str, candidates: Sequence[str], marker: str, what: str) -> str:
    """The first ``root/<candidate>`` holding ``marker`` (a file or folder name), for the
    layouts of the references and of PyG; else a FileNotFoundError naming every place
    looked at."""
    for candidate in candidates:
        folder = osp.join(root, candidate)
        if osp.exists(osp.join(folder, marker)):
            return folder
    tried = ", ".join(osp.join(root, c, marker) for c in candidates)
    raise FileNotFoundError(f"{what}: none of {tried} exists; put the dataset in one of them")


def read_h5(path: str, data: str, label: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The float32 ``data`` and int64 ``label`` arrays of one HDF5 file of ``what`` (a
    dataset's name, for the messages); a missing key is an error naming the file's keys."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{what} needs h5py: pip install 'revgnn[points]'") from None
    with h5py.File(path, "r") as f:
        for key in (data, label):
            if key not in f:
                raise ValueError(f"{path} has no {key!r} dataset (keys: {list(f)})")
        return np.asarray(f[data], dtype=np.float32), np.asarray(f[label], dtype=np.int64)
