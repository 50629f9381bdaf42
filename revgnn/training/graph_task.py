"""Graph-level prediction: mini-batches of molecules (OGB's ``ogbg-mol*`` sets)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from revgnn.config.data import DataConfig
from revgnn.training.amp import autocast
from revgnn.training.lazy_batches import LazyBatches, collated
from revgnn.training.loss import prediction_loss
from revgnn.training.partition import epoch_generator
from revgnn.training.task import Evaluation, Task, register_task
from revgnn.utils.modules import set_training

__all__ = ["GraphTask"]

#: OGB metrics this task scores: binary tasks (higher is better) and regression (lower).
METRICS = ("rocauc", "ap", "rmse")


@register_task("graphs")
class GraphTask(Task):
    """Graph-level tasks (one or many per graph) scored by OGB's ``Evaluator``: binary
    classification (ROC-AUC or AP, higher is better) and regression (RMSE, lower is better:
    ``ogbg-molesol``, ``-molfreesolv``, ``-mollipo``).

    Training batches are ``batch_size`` graphs of the training split, shuffled by a generator
    seeded from ``(seed, epoch)`` (the same on every rank and after a resume); the loss is
    binary cross-entropy, or for a regression the mean squared error, on the labelled targets
    (NaN targets are skipped, as in OGB's examples). The model is called as
    ``model(x, edge_index, edge_attr, batch)`` and returns :math:`(B, T)` logits or values,
    e.g. a :class:`~revgnn.models.GraphPredictor`.

    Args:
        dataset: OGB's ``PygGraphPropPredDataset`` (:func:`revgnn.datasets.load_ogbg`).
        split (dict): ``train`` / ``valid`` / ``test`` graph indices.
        batch_size (int): Graphs per training step. (default: ``32``)
        name (str, optional): The OGB name for the ``Evaluator`` (default: ``dataset.name``).
        eval_batch_size (int): Graphs per evaluation batch. (default: ``256``)
    """

    reports_valid_loss = True

    def __init__(
        self,
        dataset: Any,
        split: dict[str, Tensor],
        batch_size: int = 32,
        name: str | None = None,
        eval_batch_size: int = 256,
    ) -> None:
        from ogb.graphproppred import Evaluator

        if batch_size < 1 or eval_batch_size < 1:
            raise ValueError(
                f"batch_size={batch_size} and eval_batch_size={eval_batch_size} must be >= 1"
            )
        for part in ("train", "valid", "test"):
            if part not in split or len(split[part]) == 0:
                raise ValueError(f"split[{part!r}] is missing or empty")
        self.dataset = dataset
        self.split = {k: torch.as_tensor(v).long() for k, v in split.items()}
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.name = name or dataset.name
        self.evaluator = Evaluator(self.name)
        if self.evaluator.eval_metric not in METRICS:
            raise ValueError(
                f"{self.name} is scored by {self.evaluator.eval_metric}; GraphTask handles "
                f"tasks scored by {', '.join(METRICS)} only"
            )
        self.metric = self.evaluator.eval_metric
        self.kind = "regression" if self.metric == "rmse" else "multilabel"
        self.maximize = self.smooths_labels = self.kind != "regression"
        self.split_info = f"OGB split, {len(self.split['train'])} training graphs"
        self.seed = 0

    @classmethod
    def from_config(cls, dataset: tuple[Any, dict[str, Tensor]], cfg: DataConfig) -> GraphTask:
        """The task of a data recipe: OGB's dataset and split as the registered loader
        returns them (``batch_size`` graphs per step; ``None``: 32)."""
        graphs, split = dataset
        return cls(graphs, split, cfg.batch_size or 32, cfg.dataset)

    def setup(self, device: torch.device, seed: int) -> None:
        self.seed = seed

    def _loader(self, part: str, batch_size: int):
        from torch_geometric.loader import DataLoader

        return DataLoader(self.dataset[self.split[part]], batch_size=batch_size)

    def train_batches(self, epoch: int) -> LazyBatches[Any]:
        """The epoch's batches of ``batch_size`` graphs in an order drawn from ``(seed,
        epoch)``, each collated when it is read: the batches a PyG loader shuffling with
        that generator gives (its iterator draws a base seed before its sampler draws the
        order, so the order comes from iterating a loader of indices the same way)."""
        loader = self._loader("train", self.batch_size)
        order = torch.utils.data.DataLoader(
            range(len(loader.dataset)), batch_size=self.batch_size, shuffle=True,
            generator=epoch_generator(self.seed, epoch), collate_fn=list,
        )  # fmt: skip
        return collated(loader.dataset, list(order), loader.collate_fn)

    def forward(self, model: nn.Module, batch: Any) -> Tensor:
        return model(batch.x, batch.edge_index, batch.edge_attr, batch.batch)

    def loss(self, out: Tensor, batch: Any, label_smoothing: float) -> tuple[Tensor, int]:
        loss = prediction_loss(out, batch.y, self.kind, label_smoothing)
        return loss, int(batch.num_graphs)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, device: torch.device, amp: str | None) -> Evaluation:
        set_training(model, False)
        scores, extra = {}, {}
        for part in ("train", "valid", "test"):
            preds, ys = [], []
            for batch in self._loader(part, self.eval_batch_size):
                batch = batch.to(device)
                with autocast(device, amp):
                    out = self.forward(model, batch).float()
                preds.append(out.cpu())
                ys.append(batch.y.view(out.shape).cpu())
            y_true, y_pred = torch.cat(ys), torch.cat(preds)
            result = self.evaluator.eval({"y_true": y_true, "y_pred": y_pred})
            scores[part] = float(result[self.metric])
            if part == "valid":
                extra["valid_loss"] = float(prediction_loss(y_pred, y_true, self.kind))
        return Evaluation(scores, extra=extra)

    def describe(self) -> str:
        sizes = "/".join(str(len(self.split[k])) for k in ("train", "valid", "test"))
        return f"{self.name}: {len(self.dataset):,} graphs, split {sizes}, metric {self.metric}"
