r"""Architecture search: SGAS's sequential greedy decisions (Li et al., CVPR 2020) or DARTS'
argmax at the end (Liu et al., ICLR 2019), with LC-NAS's latency constraint as an option.

First-order bilevel optimisation, alternating per batch: an architecture step on a batch of
the *held-out* task (Adam on :math:`\alpha`), then a weight step on a batch of the weight task
(SGD with a cosine schedule, gradient clipping). The two tasks are two disjoint halves of the
training split (:func:`split_for_search`): the search never reads the validation or test
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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.datasets.point_clouds import hold_out
from revgnn.nas.criteria import criterion_scores, non_zero_distribution
from revgnn.nas.genotype import Genotype
from revgnn.nas.latency import LatencyTable, latency_loss
from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search_cell import NUM_EDGES, STEPS, edge_endpoints
from revgnn.nas.search_network import SearchNetwork
from revgnn.training.task import Task

__all__ = [
    "METHODS",
    "SearchConfig",
    "SearchResult",
    "darts_selection",
    "decide",
    "search",
    "split_for_search",
]

#: Search methods.
METHODS = ("sgas", "darts")
#: Decisions an SGAS search makes: two edges per node.
NUM_DECISIONS = 2 * STEPS


@dataclass
class SearchConfig:
    """Settings of one search; the defaults are SGAS's (ModelNet / PPI search).

    Args:
        method (str): ``"sgas"`` or ``"darts"``. (default: ``"sgas"``)
        criterion (int): SGAS's Criterion 1 or 2. (default: ``2``)
        warmup (int): Epochs before the first decision. (default: ``9``)
        decision_every (int): Epochs between decisions. (default: ``7``)
        epochs (int, optional): DARTS' epochs (default: SGAS's, ``warmup + 5 *
            decision_every``, so both methods cost the same); SGAS ends at its sixth decision
            and takes no ``epochs``.
        lr (float), lr_min (float), momentum (float), weight_decay (float), grad_clip (float):
            The weights' SGD, cosine from ``lr`` to ``lr_min``. (defaults: ``0.005``,
            ``1e-4``, ``0.9``, ``3e-4``, ``5.0``)
        arch_lr (float), arch_betas (tuple), arch_weight_decay (float): The architecture's
            Adam. (defaults: ``3e-4``, ``(0.5, 0.999)``, ``1e-3``)
        batch_increase (int): Clouds added to the batch after each decision (point-cloud
            tasks). (default: ``0``)
        latency_target (float, optional): LC-NAS's target in ms (``None``: no constraint).
        latency_weight (float): :math:`\\lambda` of the hinge. (default: ``1.0``)
        seed (int): Seed of the batches (the caller seeds the weights). (default: ``0``)
        device (str): Device. (default: ``"cpu"``)
    """

    method: str = "sgas"
    criterion: int = 2
    warmup: int = 9
    decision_every: int = 7
    epochs: int | None = None
    lr: float = 0.005
    lr_min: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    batch_increase: int = 0
    latency_target: float | None = None
    latency_weight: float = 1.0
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r} must be one of {', '.join(METHODS)}")
        if self.criterion not in (1, 2):
            raise ValueError(f"criterion={self.criterion} must be 1 or 2")
        if self.warmup < 1 or self.decision_every < 1:
            raise ValueError(
                f"warmup={self.warmup} and decision_every={self.decision_every} must be >= 1"
            )
        if self.method == "sgas" and self.epochs is not None:
            raise ValueError(
                "epochs= is DARTS' budget; an SGAS search lasts warmup + 5 * decision_every "
                "epochs (set warmup= and decision_every=)"
            )
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} must be >= 1")
        if self.lr <= 0 or self.arch_lr <= 0:
            raise ValueError(f"lr={self.lr} and arch_lr={self.arch_lr} must be > 0")
        if self.latency_target is not None and self.latency_target <= 0:
            raise ValueError(f"latency_target={self.latency_target} ms must be > 0")

    @property
    def total_epochs(self) -> int:
        if self.epochs is not None:
            return self.epochs
        return self.warmup + (NUM_DECISIONS - 1) * self.decision_every

    def decides_after(self, epoch: int) -> bool:
        """Whether SGAS decides an edge after ``epoch`` (1-based)."""
        return epoch >= self.warmup and (epoch - self.warmup) % self.decision_every == 0


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
    train, held = hold_out(dataset.split["train"], 0.5, seed)
    weights = dataclasses.replace(dataset, split={**dataset.split, "train": train})
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


def _step(model, task, batch, optimizer, params, clip, extra=None) -> float:
    optimizer.zero_grad(set_to_none=True)
    out = task.forward(model, batch)
    loss, _ = task.loss(out, batch, 0.0)
    total = loss if extra is None else loss + extra()
    total.backward()
    if clip is not None:
        nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()
    return float(loss.detach())


def search(
    model: SearchNetwork,
    weight_task: Task,
    arch_task: Task,
    config: SearchConfig | None = None,
    latency: LatencyTable | None = None,
    say: Callable[[str], None] | None = None,
    progress: bool = False,
) -> SearchResult:
    """Search an architecture (see the module docstring).

    Args:
        model (SearchNetwork): The supernet (modified in place: weights, ``alpha``,
            ``selected``).
        weight_task (Task), arch_task (Task): Tasks over the two halves of the training
            split (:func:`split_for_search`), drawn with the tasks' own batches and loss.
        config (SearchConfig, optional): Settings.
        latency (LatencyTable, optional): Measured table; needed with
            ``config.latency_target``.
        say (callable, optional): Receives one line per decision and at the end.
        progress (bool): Show a tqdm bar over the epochs.
    """
    cfg = config or SearchConfig()
    if cfg.latency_target is not None and latency is None:
        raise ValueError("latency_target= needs a measured LatencyTable (latency=)")
    device = torch.device(cfg.device)
    model.to(device)
    for task in (weight_task, arch_task):
        task.setup(device, cfg.seed)
    epochs = cfg.total_epochs
    w_params, a_params = model.weight_parameters(), model.arch_parameters()
    w_opt = torch.optim.SGD(w_params, cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    a_opt = torch.optim.Adam(
        a_params, cfg.arch_lr, betas=cfg.arch_betas, weight_decay=cfg.arch_weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, epochs, eta_min=cfg.lr_min)
    base_batch = getattr(weight_task, "batch_size", None)

    def latency_term() -> Tensor:
        return latency_loss(
            latency.expected(model.edge_weights()), cfg.latency_target, cfg.latency_weight
        )

    extra = latency_term if cfg.latency_target is not None else None
    history: list[dict[str, Any]] = []
    snapshots: list[Tensor] = []
    decisions: list[dict[str, Any]] = []
    start = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc=f"search {cfg.method}", unit="epoch")
    epoch = 0
    while epoch < epochs:
        epoch += 1
        model.train()
        a_batches = arch_task.train_batches(epoch)
        losses, a_losses = [], []
        for i, batch in enumerate(weight_task.train_batches(epoch)):
            a_batch = a_batches[i % len(a_batches)]
            if bool((model.selected < 0).any()):
                a_losses.append(
                    _step(model, arch_task, a_batch.to(device), a_opt, a_params, None, extra)
                )
            losses.append(
                _step(model, weight_task, batch.to(device), w_opt, w_params, cfg.grad_clip)
            )
        schedule.step()
        record: dict[str, Any] = {
            "epoch": epoch,
            "loss": sum(losses) / len(losses),
            "arch_loss": sum(a_losses) / len(a_losses) if a_losses else None,
            "seconds": time.perf_counter() - start,
        }
        if latency is not None:
            record["expected_latency_ms"] = float(latency.expected(model.edge_weights().detach()))
        if cfg.method == "sgas" and cfg.decides_after(epoch):
            decision = decide(model, cfg.criterion, snapshots, epoch)
            decisions.append(decision)
            record["decision"] = decision
            if say is not None:
                say(
                    f"epoch {epoch}: edge {decision['edge']} (s{decision['source']} -> "
                    f"n{decision['node'] + 2}) = {decision['op']} | score "
                    f"{decision['score']:.3f} EI {decision['importance']:.3f} SC "
                    f"{decision['certainty']:.3f} SS {decision['stability']:.3f}"
                    + (f" | pruned {decision['pruned']}" if decision["pruned"] else "")
                )
            if base_batch is not None and cfg.batch_increase:
                weight_task.batch_size = base_batch + cfg.batch_increase * len(decisions)
                arch_task.batch_size = weight_task.batch_size
            if not bool((model.selected < 0).any()):
                epochs = epoch  # every edge decided: the search is over
        snapshots.append(non_zero_distribution(model.alpha.detach().float().cpu()))
        history.append(record)
        if bar is not None:
            bar.total = epochs
            bar.set_postfix(loss=f"{record['loss']:.3f}", decided=len(decisions))
            bar.update(1)
    if bar is not None:
        bar.close()
    if base_batch is not None:
        weight_task.batch_size = arch_task.batch_size = base_batch
    score = arch_task.evaluate(model, device, None).scores["train"]  # DARTS: the supernet's
    if cfg.method == "darts":
        model.selected.copy_(darts_selection(model.alpha))
    genotype = Genotype.from_selection(
        model.selected.cpu(), {"method": cfg.method, "criterion": cfg.criterion, "seed": cfg.seed}
    )
    expected = None
    if latency is not None:
        expected = float(latency.expected(model.edge_weights().detach()))
    seconds = time.perf_counter() - start
    if say is not None:
        lat = f", expected latency {expected:.2f} ms" if expected is not None else ""
        say(f"found {genotype} | search score {score:.4f}{lat} | {seconds:.0f} s")
    return SearchResult(genotype, decisions, history, score, seconds, latency, expected)
