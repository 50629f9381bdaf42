"""Inductive multi-label node classification over many graphs (PPI) through the one loop."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data

from revgnn.config.data import DataConfig
from revgnn.datasets.point_metrics import micro_f1
from revgnn.training.amp import autocast
from revgnn.training.distributed import whole_rounds
from revgnn.training.lazy_batches import collated
from revgnn.training.loss import prediction_loss
from revgnn.training.partition import epoch_generator
from revgnn.training.task import Evaluation, Task, register_task
from revgnn.utils.modules import set_training

__all__ = ["InductiveNodeTask"]


@register_task("inductive")
class InductiveNodeTask(Task):
    """Multi-label node prediction on whole graphs: the training graphs are seen in batches
    of ``batch_size`` graphs (one disjoint union per step, in an order drawn from ``(seed,
    epoch)``), the validation and test graphs are never seen in training. Loss: binary
    cross-entropy over every (node, label); score: micro-F1 (``"f1"``).

    The model is called as ``model(x, edge_index)`` on the union and returns :math:`(n, T)`
    logits (e.g. a :class:`~revgnn.models.DeepGCN` with ``task="node"``).

    Args:
        graphs (dict): ``train`` / ``valid`` / ``test`` lists of ``Data`` with ``x``,
            ``edge_index`` and 0/1 ``y`` of shape :math:`(n, T)`.
        batch_size (int): Training graphs per step. (default: ``1``, the reference's)
        name (str): For reports. (default: ``"ppi"``)
    """

    def __init__(
        self, graphs: dict[str, Sequence[Data]], batch_size: int = 1, name: str = "ppi"
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be >= 1")
        for part in ("train", "valid", "test"):
            if not graphs.get(part):
                raise ValueError(f"graphs[{part!r}] is missing or empty")
            for i, g in enumerate(graphs[part]):
                if g.y is None or g.y.dim() != 2 or g.y.size(0) != g.num_nodes:
                    raise ValueError(
                        f"graphs[{part!r}][{i}].y must be labels [num_nodes, num_labels]"
                    )
        self.graphs = {k: list(v) for k, v in graphs.items()}
        self.batch_size = batch_size
        self.name = name
        self.metric = "f1"
        self.split_info = "given graph split (inductive)"
        self.seed = 0
        first = self.graphs["train"][0]
        self.num_features, self.num_labels = first.num_features, first.y.size(1)

    @classmethod
    def from_config(cls, graphs: dict[str, Sequence[Data]], cfg: DataConfig) -> InductiveNodeTask:
        """The task of a data recipe (``batch_size`` graphs per step; ``None``: 1)."""
        return cls(graphs, cfg.batch_size or 1, cfg.dataset)

    def setup(self, device: torch.device, seed: int) -> None:
        self.seed = seed

    def train_batches(self, epoch: int) -> Sequence[Batch]:
        """The epoch's batches of ``batch_size`` graphs, each collated when it is read."""
        train = self.graphs["train"]
        order = torch.randperm(len(train), generator=epoch_generator(self.seed, epoch)).tolist()
        groups = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        return whole_rounds(collated(train, groups, Batch.from_data_list))

    def forward(self, model: nn.Module, batch: Data) -> Tensor:
        return model(batch.x, batch.edge_index)

    def loss(self, out: Tensor, batch: Data, label_smoothing: float) -> tuple[Tensor, int]:
        return prediction_loss(out, batch.y, "multilabel", label_smoothing), int(batch.num_nodes)

    @torch.no_grad()
    def evaluate(self, model: nn.Module, device: torch.device, amp: str | None) -> Evaluation:
        set_training(model, False)
        scores = {}
        for part in ("train", "valid", "test"):
            outs, ys = [], []
            for g in self.graphs[part]:
                g = g.to(device)
                with autocast(device, amp):
                    outs.append(self.forward(model, g).float().cpu())
                ys.append(g.y.cpu())
            scores[part] = micro_f1(torch.cat(outs), torch.cat(ys))
        return Evaluation(scores)

    def describe(self) -> str:
        sizes = "/".join(str(len(self.graphs[k])) for k in ("train", "valid", "test"))
        nodes = sum(g.num_nodes for g in self.graphs["train"])
        return (
            f"{self.name}: graphs {sizes}, {nodes:,} training nodes, {self.num_features} "
            f"features, {self.num_labels} labels, metric micro-F1"
        )
