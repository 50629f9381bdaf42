"""Point-cloud classification and segmentation: batches of clouds through the one loop."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import PointClouds
from revgnn.datasets.point_metrics import ConfusionMatrix, ShapeIoU
from revgnn.training.amp import autocast
from revgnn.training.distributed import whole_rounds
from revgnn.training.lazy_batches import LazyBatches
from revgnn.training.partition import epoch_generator
from revgnn.training.task import Evaluation, Task, class_prior_loss, register_task
from revgnn.utils.modules import set_training

__all__ = ["PointBatch", "PointCloudTask", "augment_clouds"]


@dataclass
class PointBatch:
    """Clouds :math:`(B, N, C)` and their labels, :math:`(B,)` or :math:`(B, N)`."""

    x: Tensor
    y: Tensor

    def to_dict(self) -> dict[str, Tensor]:
        return {"x": self.x, "y": self.y}

    def to(self, device: torch.device | str) -> PointBatch:
        return PointBatch(self.x.to(device), self.y.to(device))


def augment_clouds(x: Tensor, y: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The DeepGCNs' ModelNet augmentation: xyz scaled per axis by :math:`U(2/3, 3/2)` and
    shifted by :math:`U(-0.2, 0.2)`, one draw per cloud, then the points shuffled (per-point
    labels follow them)."""
    scale, shift, keys = _augment_draws(x.size(0), x.size(1), generator)
    x = x.clone()
    x[..., :3] = x[..., :3] * scale + shift
    order = torch.argsort(keys, dim=1)
    x = x.gather(1, order.unsqueeze(-1).expand_as(x))
    if y.dim() == 2:
        y = y.gather(1, order)
    return x, y


def _augment_draws(b: int, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`augment_clouds`' random numbers for ``b`` clouds of ``n`` points, in its order."""
    scale = torch.empty(b, 1, 3).uniform_(2 / 3, 3 / 2, generator=generator)
    shift = torch.empty(b, 1, 3).uniform_(-0.2, 0.2, generator=generator)
    return scale, shift, torch.rand(b, n, generator=generator)


def _cloud_plan(parts: list[Tensor], states: list[Tensor] | None, k: int) -> tuple:
    """What batch ``k`` is made of: its clouds and where its augmentation draws start."""
    return parts[k], None if states is None else states[k]


def _clouds(dataset: PointClouds, parts: list[Tensor], states: list[Tensor] | None,
            k: int) -> PointBatch:  # fmt: skip
    """Batch ``k``: its clouds, augmented from the generator state it started at."""
    x, y = dataset.x[parts[k]], dataset.y[parts[k]]
    if states is not None:
        x, y = augment_clouds(x, y, torch.Generator().set_state(states[k]))
    return PointBatch(x, y)


@register_task("points")
class PointCloudTask(Task):
    """Classification (one label per cloud) or segmentation (one per point) of
    :class:`~revgnn.datasets.PointClouds`, trained with the cross-entropy (and the loop's
    label smoothing).

    Training batches are ``batch_size`` clouds of the training split in an order drawn from
    ``(seed, epoch)`` (the same on every rank and after a resume), augmented as the dataset
    asks (:func:`augment_clouds`, ModelNet). A final batch of a single cloud is dropped for
    classification (BatchNorm over one cloud's features is undefined), and under DDP the last
    batches beyond a multiple of the number of processes. The model is called as
    ``model(x)`` with :math:`(B, N, C)` clouds and returns :math:`(B, K)` or
    :math:`(B, N, K)` logits.

    Scores per split, from one confusion matrix over the split: ``acc`` (overall accuracy)
    for classification, ``miou`` (mean IoU over the classes that occur, ``ignore_classes``
    left out) for segmentation; the log line also gets ``<split>_acc``, ``<split>_macc``
    (mean class accuracy) and ``<split>_miou``. A dataset with categories (part
    segmentation, ShapeNet) is also scored per shape: ``<split>_instance_miou`` and
    ``<split>_class_miou`` (:class:`~revgnn.datasets.point_metrics.ShapeIoU`).

    Args:
        dataset (PointClouds): The clouds.
        batch_size (int): Clouds per training step. (default: ``16``)
        eval_batch_size (int, optional): Clouds per evaluation batch (default:
            ``batch_size``).
        augment (bool, optional): Override the dataset's ``augment``.
    """

    def __init__(
        self,
        dataset: PointClouds,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        augment: bool | None = None,
    ) -> None:
        if batch_size < 1 or (eval_batch_size is not None and eval_batch_size < 1):
            raise ValueError(
                f"batch_size={batch_size} and eval_batch_size={eval_batch_size} must be >= 1"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.augment = dataset.augment if augment is None else augment
        self.name = dataset.name
        self.metric = dataset.metric
        self.split_info = dataset.split_info
        self.seed = 0

    @classmethod
    def from_config(cls, dataset: PointClouds, cfg: DataConfig) -> PointCloudTask:
        """The task of a data recipe (``batch_size`` clouds per step; ``None``: 16)."""
        return cls(dataset, cfg.batch_size or 16)

    def setup(self, device: torch.device, seed: int) -> None:
        self.seed = seed

    def train_batches(self, epoch: int, batch_size: int | None = None) -> Sequence[PointBatch]:
        """The epoch's batches of ``batch_size`` clouds (default: the task's), each gathered
        (and augmented) when it is read: one batch's copy of the clouds at a time."""
        size = batch_size or self.batch_size
        gen = epoch_generator(self.seed, epoch)
        idx = self.dataset.split["train"]
        idx = idx[torch.randperm(len(idx), generator=gen)]
        parts = list(idx.split(size))
        if len(parts) > 1 and len(parts[-1]) == 1 and self.dataset.task == "classification":
            parts.pop()
        states = None
        if self.augment:  # where each batch's draws start, as one pass over the batches drew
            states = []
            for part in parts:
                states.append(gen.get_state())
                _augment_draws(len(part), self.dataset.x.size(1), gen)
        build = functools.partial(_clouds, self.dataset, parts, states)
        plan = functools.partial(_cloud_plan, parts, states)
        return whole_rounds(LazyBatches(len(parts), build, plan))

    def forward(self, model: nn.Module, batch: PointBatch) -> Tensor:
        return model(batch.x)

    def loss(self, out: Tensor, batch: PointBatch, label_smoothing: float) -> tuple[Tensor, int]:
        if out.dim() != batch.y.dim() + 1 or out.shape[:-1] != batch.y.shape:
            raise ValueError(
                f"{self.name}: the model returned {list(out.shape)} for labels "
                f"{list(batch.y.shape)}; expected [{', '.join(map(str, batch.y.shape))}, classes]"
            )
        loss = F.cross_entropy(
            out.float().reshape(-1, out.size(-1)),
            batch.y.reshape(-1),
            label_smoothing=label_smoothing,
        )
        return loss, int(batch.y.size(0))

    def prior_loss(self, label_smoothing: float = 0.0) -> float:
        """The entropy of the training clouds' (or points') class frequencies
        (:func:`~revgnn.training.task.class_prior_loss`): the loss is the cross-entropy over
        every cloud (or point) of a batch."""
        y = self.dataset.y[self.dataset.split["train"]]
        return class_prior_loss(y, self.dataset.num_classes, label_smoothing)

    @torch.no_grad()
    def score(
        self, model: nn.Module, part: str, device: torch.device, amp: str | None
    ) -> tuple[ConfusionMatrix, ShapeIoU | None, set[int]]:
        """The confusion matrix of ``part``, its per-shape IoU (datasets with categories)
        and the classes predicted, in evaluation mode."""
        set_training(model, False)
        d = self.dataset
        cm = ConfusionMatrix(d.num_classes, d.ignore_classes)
        shapes = ShapeIoU(d.category_parts) if d.category_parts is not None else None
        idx = d.split[part]
        predicted: set[int] = set()
        for start in range(0, len(idx), self.eval_batch_size):
            sel = idx[start : start + self.eval_batch_size]
            with autocast(device, amp):
                out = model(d.x[sel].to(device))
            pred = out.float().argmax(-1).cpu()
            cm.update(pred, d.y[sel])
            if shapes is not None and d.categories is not None:
                shapes.update(out, d.y[sel], d.categories[sel])
            predicted.update(pred.unique().tolist())
        return cm, shapes, predicted

    def evaluate(self, model: nn.Module, device: torch.device, amp: str | None) -> Evaluation:
        scores, extra, valid_classes = {}, {}, None
        for part in ("train", "valid", "test"):
            cm, shapes, predicted = self.score(model, part, device, amp)
            figures = cm.scores()
            if shapes is not None:
                figures.update(shapes.scores())
            scores[part] = figures[self.metric]
            extra.update({f"{part}_{k}": v for k, v in figures.items() if k != self.metric})
            if part == "valid":
                valid_classes = len(predicted)
        return Evaluation(scores, valid_classes, extra)

    def describe(self) -> str:
        return self.dataset.describe()
