"""Node-level prediction on one graph: full batch, random parts or METIS clusters."""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.data import Data, Dataset

from revgnn.config.data import DataConfig
from revgnn.datasets.graph_file import from_data
from revgnn.datasets.metrics import Scorer
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.validate import validate
from revgnn.training.amp import autocast
from revgnn.training.loss import prediction_loss
from revgnn.training.partition import (
    PARTITIONS,
    FullBatch,
    Partitioner,
    make_partitioner,
    multiview_predict,
)
from revgnn.training.task import (
    Evaluation,
    Task,
    class_prior_loss,
    label_prior_logits,
    register_task,
)
from revgnn.utils.modules import set_training

__all__ = ["NodeTask", "node_forward"]


def node_forward(model: nn.Module, batch: Data) -> Tensor:
    """``model(x, edge_index[, edge_attr])``: the package's model convention."""
    edge_attr = batch.get("edge_attr")
    if edge_attr is None:
        return model(batch.x, batch.edge_index)
    return model(batch.x, batch.edge_index, edge_attr)


@register_task("node")
class NodeTask(Task):
    """Node classification or multi-label prediction on a :class:`~revgnn.datasets.NodeDataset`.

    Training batches come from a partition scheme (:mod:`revgnn.training.partition`): the
    full graph, ``num_parts`` random parts redrawn every epoch, or METIS clusters; the loss is
    taken on the batch's training nodes. Evaluation is full-graph (``eval_parts=1``) or
    averaged over ``eval_views`` fixed random partitions into ``eval_parts`` parts
    (:func:`~revgnn.training.partition.multiview_predict`), scored by OGB's ``Evaluator``, an exact
    accuracy count or sklearn's ROC-AUC (:class:`~revgnn.datasets.Scorer`).

    Args:
        dataset (NodeDataset, Data or Dataset): The dataset (validated here: non-finite
            features or an edge index outside the graph are errors); a PyG ``Data`` (or a
            PyG dataset of one graph, ``Planetoid(root, "Cora")``) is read by
            :func:`~revgnn.datasets.from_data` (its masks as the split).
        partition (str): ``"full"``, ``"random"`` or ``"metis"``. (default: ``"full"``)
        num_parts (int): Parts (batches) per epoch for ``"random"`` / ``"metis"``.
        eval_parts (int): Parts per evaluation view (``1``: the full graph).
        eval_views (int): Random views averaged in evaluation.
        metis_cache (str, optional): Folder caching METIS assignments.
        partitioner (Partitioner, optional): A prebuilt partitioner (overrides
            ``partition``; its seed becomes the run's).
    """

    reports_valid_loss = True

    def __init__(
        self,
        dataset: NodeDataset | Data | Dataset,
        partition: str = "full",
        num_parts: int = 1,
        eval_parts: int = 1,
        eval_views: int = 1,
        metis_cache: str | None = None,
        partitioner: Partitioner | None = None,
    ) -> None:
        if partition not in PARTITIONS:
            raise ValueError(f"partition={partition!r} must be one of {', '.join(PARTITIONS)}")
        if num_parts < 1 or eval_parts < 1 or eval_views < 1:
            raise ValueError(
                f"num_parts={num_parts}, eval_parts={eval_parts} and eval_views={eval_views} "
                "must be at least 1"
            )
        dataset = self.dataset = validate(_as_node_dataset(dataset))
        # Checked here, before a model is built or an epoch starts: a part holds a node.
        n = self.dataset.num_nodes
        for name, parts in (("num_parts", num_parts if partition != "full" else 1),
                            ("eval_parts", eval_parts)):  # fmt: skip
            if parts > n:
                raise ValueError(
                    f"{name}={parts} must lie in [1, num_nodes={n}]: every part holds a node"
                )
        self.name = dataset.name
        self.metric = dataset.metric
        self.split_info = dataset.split_info
        self.partition = partition
        self.num_parts = num_parts
        self.eval_parts = eval_parts
        self.eval_views = eval_views
        self.metis_cache = metis_cache
        self.partitioner = partitioner
        self.scorer = Scorer(dataset)
        self.train_mask: Tensor | None = None
        self.seed = 0

    @property
    def full_batch(self) -> bool:
        return isinstance(self.partitioner, FullBatch) or (
            self.partitioner is None and self.partition == "full"
        )

    @classmethod
    def from_config(cls, dataset: NodeDataset, cfg: DataConfig) -> NodeTask:
        """The task of a data recipe: its partition, parts and evaluation views; METIS
        assignments are cached in ``<root>/metis_cache``."""
        cache = osp.join(cfg.root, "metis_cache") if cfg.root else None
        return cls(dataset, cfg.partition, cfg.num_parts, cfg.eval_parts, cfg.eval_views, cache)

    def setup(self, device: torch.device, seed: int) -> None:
        self.seed = seed
        if self.partitioner is None:
            self.partitioner = make_partitioner(
                self.dataset.data, self.partition, self.num_parts, seed, self.metis_cache
            )
        elif hasattr(self.partitioner, "seed"):  # a later run (leaderboard) of another seed
            self.partitioner.seed = seed
        if isinstance(self.partitioner, FullBatch):  # move the graph once, not every epoch
            self.partitioner.data = self.partitioner.data.to(device)
        mask = torch.zeros(self.dataset.num_nodes, dtype=torch.bool, device=device)
        mask[self.dataset.split["train"].to(device)] = True
        self.train_mask = mask

    def train_batches(self, epoch: int) -> Sequence[Data]:
        return self.partitioner.batches(epoch)

    def forward(self, model: nn.Module, batch: Data) -> Tensor:
        return node_forward(model, batch)

    def loss(self, out: Tensor, batch: Data, label_smoothing: float) -> tuple[Tensor, int]:
        mask = self.train_mask[batch.n_id.to(self.train_mask.device)]
        n = int(mask.sum())
        if n == 0:
            return out.float().sum() * 0.0, 0
        return prediction_loss(out[mask], batch.y[mask], self.dataset.task, label_smoothing), n

    def prior_loss(self, label_smoothing: float = 0.0) -> float | None:
        """For single-label classes, the entropy of the training labels' class frequencies
        (:func:`~revgnn.training.task.class_prior_loss`)."""
        if self.dataset.task != "multiclass":
            return None
        y = self.dataset.data.y.view(-1)[self.dataset.split["train"]]
        return class_prior_loss(y, self.dataset.num_classes, label_smoothing)

    def prior_logits(self) -> Tensor:
        """The training labels' prior as logits (:func:`~revgnn.training.task.label_prior_logits`):
        log-odds per task, or log class frequencies."""
        split = self.dataset.split["train"]
        y = self.dataset.data.y
        multilabel = self.dataset.task == "multilabel"
        return label_prior_logits(y[split] if multilabel else y.view(-1)[split],
                                  self.dataset.num_classes, multilabel)  # fmt: skip

    @torch.no_grad()
    def predict(self, model: nn.Module, device: torch.device, amp: str | None) -> Tensor:
        """Logits of every node (CPU), full-graph or averaged over random views."""
        set_training(model, False)

        def forward(batch: Data) -> Tensor:
            with autocast(device, amp):
                return node_forward(model, batch.to(device))

        data = self.dataset.data
        return multiview_predict(forward, data, self.eval_parts, self.eval_views, self.seed).cpu()

    def evaluate(self, model: nn.Module, device: torch.device, amp: str | None) -> Evaluation:
        out = self.predict(model, device, amp)
        y = self.dataset.data.y
        scores = {part: self.scorer(y[idx], out[idx]) for part, idx in self.dataset.split.items()}
        valid = self.dataset.split["valid"]
        classes = None
        if self.dataset.task == "multiclass":
            classes = int(out[valid].argmax(-1).unique().numel())
        valid_loss = float(prediction_loss(out[valid], y[valid], self.dataset.task))
        return Evaluation(scores, classes, {"valid_loss": valid_loss})

    def describe(self) -> str:
        return self.dataset.describe()

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.name!r}, partition={self.partition!r}, "
            f"num_parts={self.num_parts}, eval_parts={self.eval_parts}, "
            f"eval_views={self.eval_views})"
        )

    @classmethod
    def of(cls, task: Task | NodeDataset | Data | Dataset, **kwargs: Any) -> Task:
        """``task`` itself, or a full-batch :class:`NodeTask` of a dataset (or of a PyG
        ``Data``, or a PyG dataset of one graph)."""
        return task if isinstance(task, Task) else cls(task, **kwargs)


def _as_node_dataset(dataset: Any) -> NodeDataset:
    """A node task's dataset from what a user holds: a :class:`NodeDataset`, a PyG ``Data``
    (or a dict of its tensors), or a PyG dataset of one graph (``Planetoid(root, "Cora")``)."""
    name = "graph"
    if isinstance(dataset, Dataset):
        if len(dataset) != 1:
            raise ValueError(
                f"{type(dataset).__name__} holds {len(dataset)} graphs; a node task trains on one "
                "graph: pass dataset[i] (graph-level tasks: revgnn train --dataset ogbg-...)"
            )
        name = str(getattr(dataset, "name", type(dataset).__name__))
        dataset = dataset[0]
    if isinstance(dataset, (Data, dict)):
        return from_data(dataset, name)
    if not isinstance(dataset, NodeDataset):
        raise TypeError(
            f"a node task takes a NodeDataset, a torch_geometric.data.Data (or a dict of its "
            f"tensors) or a PyG dataset of one graph, got {type(dataset).__name__}"
        )
    return dataset
