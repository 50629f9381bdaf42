r"""Architecture search: SGAS's sequential greedy decisions (Li et al., CVPR 2020) or DARTS'
argmax at the end (Liu et al., ICLR 2019), with LC-NAS's latency constraint as an option.

A search is a task of the one training loop (:class:`SearchTask`), so it has AMP,
checkpoints and resume (a killed search resumes to the same genotype), DDP and the JSONL log
like every other run. Its step is first-order bilevel, alternating per batch: an
architecture step on a batch of the *held-out* task (Adam on :math:`\alpha`), then a weight
step on a batch of the weight task (the run's optimiser: SGD with a cosine schedule and
gradient clipping in the recipe ``search/sgas``). The two tasks are two disjoint halves of
the training split (:func:`split_for_search`): the search never reads the validation or test
splits (the reference steps :math:`\alpha` on ModelNet10's test split).

SGAS (``method="sgas"``): after ``warmup`` epochs and then every ``decision_every`` epochs, the
undecided edge with the best criterion score (:func:`~revgnn.nas.criteria.criterion_scores`)
is decided: its operation becomes :math:`\arg\max \tilde{p}` and its weights one-hot (its
:math:`\alpha` no longer matters); once a node has two chosen edges, its other edges are
pruned. The search ends when every edge is decided (six decisions). With point clouds the
batch grows by ``batch_increase`` clouds after each decision, as the reference's.

DARTS (``method="darts"``): the same epochs without decisions; at the end every node keeps its
two edges of largest non-``none`` weight, each with its best non-``none`` operation.

The search score, the quantity whose ranking should predict the evaluation ranking, is the
held-out half's score of the final network (SGAS: the discrete architecture it decided;
DARTS: the supernet).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from revgnn.config.search import SearchConfig
from revgnn.config.train import TrainConfig
from revgnn.datasets.point_clouds import hold_out
from revgnn.nas.criteria import criterion_scores, non_zero_distribution
from revgnn.nas.genotype import Genotype
from revgnn.nas.latency import LatencyTable, latency_loss
from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search_cell import NUM_EDGES, STEPS, edge_endpoints
from revgnn.nas.search_network import SearchNetwork
from revgnn.training.lazy_batches import LazyBatches
from revgnn.training.loop import train
from revgnn.training.optimizers import Optimizers, make_optimizer, make_scheduler
from revgnn.training.point_cloud_task import PointCloudTask
from revgnn.training.task import Evaluation, Task

if TYPE_CHECKING:
    from revgnn.config.optim import OptimConfig
    from revgnn.training.callback import Callback
    from revgnn.training.loop import Loop

__all__ = [
    "SearchResult",
    "SearchTask",
    "darts_selection",
    "decide",
    "search",
    "split_for_search",
]


@dataclass
class SearchResult:
    """What a search found: the genotype, the decision log (one dict per decision: epoch,
    edge, source state, node, operation, score and its factors, pruned edges), one history
    record per epoch, the held-out search score, seconds, and the latency table if used."""

    genotype: Genotype
    decisions: list[dict[str, Any]]
    history: list[dict[str, Any]]
    score: float
    seconds: float
    latency: LatencyTable | None = None
    expected_latency: float | None = field(default=None)


def split_for_search(dataset: Any, seed: int = 0) -> tuple[Any, Any]:
    """Two copies of a dataset (``PointClouds`` or ``NodeDataset``: anything with a
    ``split`` dict) whose training splits are the two halves of its training split: the
    weights' and the architecture's. The architecture copy's valid and test splits are its
    training half too, so nothing of the search reads the real validation or test data."""
    train_half, held = hold_out(dataset.split["train"], 0.5, seed)
    weights = dataclasses.replace(dataset, split={**dataset.split, "train": train_half})
    arch = dataclasses.replace(dataset, split={"train": held, "valid": held, "test": held})
    return weights, arch


def decide(
    model: SearchNetwork, criterion: int, history: list[Tensor], epoch: int
) -> dict[str, Any]:
    """One SGAS decision on ``model`` (in place): the best undecided edge by ``criterion``
    gets its best non-``none`` operation; a node with two chosen edges loses its others."""
    selected = model.selected
    undecided = selected < 0
    if not bool(undecided.any()):
        raise ValueError("every edge is already decided")
    scores = criterion_scores(model.alpha, undecided, criterion, history)
    edge = int(scores["score"].argmax())
    op = int(non_zero_distribution(model.alpha.detach())[edge].argmax()) + 1
    selected[edge] = op
    endpoints = list(edge_endpoints())
    node = endpoints[edge][2]
    pruned = []
    if sum(1 for e, _, n in endpoints if n == node and int(selected[e]) > 0) == 2:
        for e, _, n in endpoints:
            if n == node and int(selected[e]) < 0:
                selected[e] = 0
                pruned.append(e)
    return {
        "epoch": epoch,
        "edge": edge,
        "source": endpoints[edge][1],
        "node": node,
        "op": PRIMITIVES[op],
        "score": float(scores["score"][edge]),
        "importance": float(scores["importance"][edge]),
        "certainty": float(scores["certainty"][edge]),
        "stability": float(scores["stability"][edge]),
        "pruned": pruned,
    }


def darts_selection(alpha: Tensor) -> Tensor:
    """DARTS' discretisation: each node keeps the two incoming edges of largest non-``none``
    weight, each with its best non-``none`` operation (``0`` for the dropped edges)."""
    p = torch.softmax(alpha.detach().float(), dim=-1)[:, 1:]
    best, op = p.max(-1)
    out = torch.zeros(NUM_EDGES, dtype=torch.long)
    for node in range(STEPS):
        edges = [e for e, _, n in edge_endpoints() if n == node]
        keep = sorted(edges, key=lambda e: -float(best[e]))[:2]
        for e in keep:
            out[e] = int(op[e]) + 1
    return out


class SearchTask(Task):
    """An architecture search as a task of the one loop (see the module docstring).

    Each training batch is a pair: a batch of ``weight_task`` and one of ``arch_task`` (its
    batches cycled). :meth:`step` takes the architecture step (while an edge is undecided)
    then the weight step; :meth:`epoch_end` makes SGAS's decisions and grows point-cloud
    batches by ``config.batch_increase``; the run ends when every edge is decided. Nothing of
    the search is kept outside the task's :meth:`state_dict` and the network's parameters and
    buffers (``alpha``, ``selected``), so a resumed search decides what an uninterrupted one
    does.

    Args:
        network (SearchNetwork): The supernet (trained in place).
        weight_task (Task), arch_task (Task): Tasks over the two halves of the training split
            (:func:`split_for_search`).
        config (SearchConfig): The search's settings.
        latency (LatencyTable, optional): Measured table; needed with
            ``config.latency_target``.
    """

    select_best = False  # the decisions, not a best-validation epoch, make the result

    def __init__(
        self,
        network: SearchNetwork,
        weight_task: Task,
        arch_task: Task,
        config: SearchConfig,
        latency: LatencyTable | None = None,
    ) -> None:
        if config.latency_target is not None and latency is None:
            raise ValueError("latency_target= needs a measured LatencyTable (latency=)")
        if config.batch_increase and not isinstance(weight_task, PointCloudTask):
            raise ValueError("batch_increase applies to point-cloud searches only")
        self.network, self.config, self.latency = network, config, latency
        self.weight_task, self.arch_task = weight_task, arch_task
        self.name = f"search {weight_task.name}"
        self.metric, self.split_info = weight_task.metric, "training split halved"
        self.snapshots: list[Tensor] = []
        self.decisions: list[dict[str, Any]] = []
        self.arch_losses: list[float] = []

    @property
    def undecided(self) -> bool:
        return bool((self.network.selected < 0).any())

    def setup(self, device: torch.device, seed: int) -> None:
        self.weight_task.setup(device, seed)
        self.arch_task.setup(device, seed)

    def _batch_size(self) -> int | None:
        if not self.config.batch_increase:
            return None
        return self.weight_task.batch_size + self.config.batch_increase * len(self.decisions)

    def train_batches(self, epoch: int) -> LazyBatches[tuple[Any, Any]]:
        size = self._batch_size()
        kw = {} if size is None else {"batch_size": size}
        w = self.weight_task.train_batches(epoch, **kw)
        a = self.arch_task.train_batches(epoch, **kw)
        return LazyBatches(len(w), functools.partial(_paired, w, a))

    def forward(self, model: nn.Module, batch: Any) -> Tensor:
        return self.weight_task.forward(model, batch)

    def loss(self, out: Tensor, batch: Any, label_smoothing: float) -> tuple[Tensor, int]:
        return self.weight_task.loss(out, batch, label_smoothing)

    def optimizers(self, model: nn.Module, cfg: OptimConfig) -> Optimizers:
        net = self.network
        groups = [{"params": net.weight_parameters(), "weight_decay": cfg.weight_decay}]
        weights = make_optimizer(groups, cfg)
        c = self.config
        arch = torch.optim.Adam(
            net.arch_parameters(), c.arch_lr, betas=(c.arch_beta1, c.arch_beta2),
            weight_decay=c.arch_weight_decay,
        )  # fmt: skip
        sched = make_scheduler(weights, cfg)
        return Optimizers({"weights": weights, "arch": arch}, {"weights": sched} if sched else {})

    def _latency_term(self) -> Tensor:
        expected = self.latency.expected(self.network.edge_weights())
        return latency_loss(expected, self.config.latency_target, self.config.latency_weight)

    def step(self, loop: Loop, batch: Any) -> tuple[Tensor | None, int]:
        w_batch, a_batch = batch
        if self.undecided:
            extra = self._latency_term if self.config.latency_target is not None else None
            opt = loop.optimizers.optimizers["arch"]
            loss, _ = loop.train_step(
                a_batch, opt, params=self.network.arch_parameters(), clip=False,
                extra_loss=extra, task=self.arch_task,
            )  # fmt: skip
            self.arch_losses.append(float(loss))
        return loop.train_step(
            w_batch, loop.optimizers.main, params=self.network.weight_parameters(),
            task=self.weight_task,
        )  # fmt: skip

    def epoch_end(self, loop: Loop, epoch: int) -> dict[str, Any]:
        record: dict[str, Any] = {}
        if self.arch_losses:
            record["arch_loss"] = sum(self.arch_losses) / len(self.arch_losses)
            self.arch_losses.clear()
        if self.latency is not None:
            weights = self.network.edge_weights().detach()
            record["expected_latency_ms"] = float(self.latency.expected(weights))
        if self.config.method == "sgas" and self.config.decides_after(epoch) and self.undecided:
            decision = decide(self.network, self.config.criterion, self.snapshots, epoch)
            self.decisions.append(decision)
            record["decision"] = decision
            loop.say(
                f"epoch {epoch}: edge {decision['edge']} (s{decision['source']} -> "
                f"n{decision['node'] + 2}) = {decision['op']} | score {decision['score']:.3f} "
                f"EI {decision['importance']:.3f} SC {decision['certainty']:.3f} SS "
                f"{decision['stability']:.3f}"
                + (f" | pruned {decision['pruned']}" if decision["pruned"] else "")
            )
        self.snapshots.append(non_zero_distribution(self.network.alpha.detach().float().cpu()))
        return record

    def finished(self) -> bool:
        return self.config.method == "sgas" and not self.undecided

    def evaluate(self, model: nn.Module, device: torch.device, amp: str | None) -> Evaluation:
        score = self.arch_task.evaluate(model, device, amp).scores["train"]
        return Evaluation({"train": score, "valid": score, "test": score})

    def state_dict(self) -> dict[str, Any]:
        return {"snapshots": list(self.snapshots), "decisions": list(self.decisions)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshots = list(state["snapshots"])
        self.decisions = list(state["decisions"])

    def __repr__(self) -> str:
        return f"SearchTask({self.weight_task!r}, method={self.config.method!r})"


def search(
    model: SearchNetwork,
    weight_task: Task,
    arch_task: Task,
    config: SearchConfig | None = None,
    train_config: TrainConfig | None = None,
    latency: LatencyTable | None = None,
    callbacks: list[Callback] | None = None,
) -> SearchResult:
    """Search an architecture (see the module docstring) on the one training loop.

    Args:
        model (SearchNetwork): The supernet (modified in place: weights, ``alpha``,
            ``selected``).
        weight_task (Task), arch_task (Task): Tasks over the two halves of the training
            split (:func:`split_for_search`), drawn with the tasks' own batches and loss.
        config (SearchConfig, optional): The search's settings.
        train_config (TrainConfig, optional): The weights' optimisation and the run
            (checkpoint, resume, AMP, log, ...); its ``epochs`` is the search's length
            (``config.total_epochs``) and the held-out half is scored after the last epoch
            only. Default: the recipe ``search/sgas``'s.
        latency (LatencyTable, optional): Measured table; needed with
            ``config.latency_target``.
        callbacks (list of Callback, optional): Added to the loop's.
    """
    cfg = config or SearchConfig()
    if train_config is None:
        from revgnn.config.recipe import load_recipe

        recipe = load_recipe("search/sgas")
        train_config = TrainConfig.of(recipe.optim, recipe.run, device="cpu")
    epochs = cfg.total_epochs
    train_config = dataclasses.replace(train_config, epochs=epochs, eval_every=epochs)
    task = SearchTask(model, weight_task, arch_task, cfg, latency)
    result = train(model, task, train_config, callbacks or [])
    if cfg.method == "darts":
        model.selected.copy_(darts_selection(model.alpha))
    genotype = Genotype.from_selection(
        model.selected.cpu(), {"method": cfg.method, "criterion": cfg.criterion,
                               "seed": train_config.seed},
    )  # fmt: skip
    expected = None
    if latency is not None:
        expected = float(latency.expected(model.edge_weights().detach()))
    history = result.history
    return SearchResult(
        genotype, task.decisions, history, result.valid_metric, result.seconds, latency, expected
    )


def _paired(weights: Sequence[Any], arch: Sequence[Any], k: int) -> tuple[Any, Any]:
    """Step ``k``'s batch of the weight split and the architecture split's (cycled)."""
    return weights[k], arch[k % len(arch)]
