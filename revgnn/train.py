r"""The one training loop of revgnn: used by the CLI, the OGB examples and the benchmarks.

:func:`train` fits any model that follows the package's model convention
(``forward(x, edge_index, edge_attr=None) -> logits``) on a
:class:`~revgnn.datasets.NodeDataset`:

* Adam with gradient-norm clipping; AMP (``amp="bf16"`` or ``"fp16"``, the latter with a
  ``GradScaler``);
* mini-batches from a :mod:`revgnn.partition` scheme (full batch, random parts redrawn every
  epoch, METIS clusters), one optimiser step per batch;
* evaluation every ``eval_every`` epochs, full-graph or averaged over fixed random views
  (:func:`~revgnn.partition.multiview_predict`), scored by OGB's ``Evaluator`` or the
  matching sklearn metric; the best-valid weights are kept and loaded at the end;
* checkpoints written atomically (model, optimiser, scaler, epoch, every RNG state, the best
  model and score) and read with ``weights_only=True``; ``resume=True`` continues a killed
  run and, on CPU, ends with exactly the metrics of an uninterrupted run;
* a tqdm bar with loss and metric, one JSON line per epoch (loss, scores, seconds, peak
  memory from :mod:`revgnn.memory`, and the model's own ``log_metrics()``);
* multi-process data parallelism under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment,
  or an initialised ``torch.distributed`` group): the model is wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`, every rank draws the same partition
  of an epoch and takes batches ``rank, rank + P, ...`` of it, DDP averages the gradients,
  and rank 0 alone evaluates, logs and writes checkpoints while the others wait.

Model hooks: ``epoch_start(epoch)`` is called before each epoch and ``log_metrics()``'s
dict is added to the epoch's log line, when the model has them.

:func:`leaderboard` trains ``R`` seeds and summarises them in OGB's submission format.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import os.path as osp
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.data import Data
from tqdm.auto import tqdm

from revgnn.datasets.metrics import Scorer
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.memory import measure_peak, peak_rss_bytes
from revgnn.partition import (
    FullBatch,
    Partitioner,
    make_partitioner,
    multiview_predict,
    shard_batches,
)

__all__ = [
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "leaderboard",
    "leaderboard_markdown",
    "load_checkpoint",
    "seed_everything",
    "train",
]

CHECKPOINT_FORMAT = 1
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainConfig:
    """Settings of one training run.

    Args:
        epochs (int): Epochs to train. (default: ``200``)
        lr (float): Adam learning rate. (default: ``0.01``)
        weight_decay (float): Adam (L2) weight decay. (default: ``0.0``)
        weight_decay_on (tuple of str): Names of the submodules whose parameters get the
            weight decay (e.g. ``("node_encoder",)``: the first layer only, as GCN does);
            empty: every parameter. (default: ``()``)
        grad_clip (float, optional): Max gradient norm, ``None`` for no clipping.
            (default: ``1.0``)
        amp (str, optional): ``"bf16"`` or ``"fp16"`` autocast, ``None`` for fp32.
        eval_every (int): Evaluate every this many epochs (and after the last).
        partition (str): Training batches: ``"full"``, ``"random"`` or ``"metis"``.
        num_parts (int): Parts (batches) per epoch for ``"random"`` / ``"metis"``.
        eval_parts (int): Parts per evaluation view (``1``: full graph).
        eval_views (int): Random views averaged in evaluation.
        seed (int): Seed of the run (partitions; :func:`seed_everything` seeds the rest).
        device (str): ``"cpu"``, ``"cuda"``, ...
        checkpoint (str, optional): Checkpoint file, written every ``checkpoint_every``
            epochs and at the end.
        checkpoint_every (int): Epochs between checkpoints.
        resume (bool): Continue from ``checkpoint`` when it exists.
        log_path (str, optional): JSONL file, one line per epoch.
        progress (bool): Show the tqdm bar.
        memory_every (int): On CPU, measure the peak of live tensor bytes (profiler, ~1.5x
            slower) on the first epoch and every this many epochs after; ``0``: first only.
            On CUDA the peak is read every epoch at no cost.
        metis_cache (str, optional): Folder caching METIS assignments.
        label_smoothing (float): Multiclass cross-entropy label smoothing.
    """

    epochs: int = 200
    lr: float = 0.01
    weight_decay: float = 0.0
    weight_decay_on: tuple[str, ...] = ()
    grad_clip: float | None = 1.0
    amp: str | None = None
    eval_every: int = 1
    partition: str = "full"
    num_parts: int = 1
    eval_parts: int = 1
    eval_views: int = 1
    seed: int = 0
    device: str = "cpu"
    checkpoint: str | None = None
    checkpoint_every: int = 10
    resume: bool = False
    log_path: str | None = None
    progress: bool = True
    memory_every: int = 0
    metis_cache: str | None = None
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} must be at least 1")
        if self.amp not in (None, *AMP_DTYPES):
            raise ValueError(f"amp={self.amp!r} must be None, 'bf16' or 'fp16'")
        if self.eval_every < 1:
            raise ValueError(f"eval_every={self.eval_every} must be at least 1")
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every={self.checkpoint_every} must be at least 1")
        if self.resume and self.checkpoint is None:
            raise ValueError("resume=True needs checkpoint= (the file to resume from)")
        if self.partition not in ("full", "random", "metis"):
            raise ValueError(f"partition={self.partition!r} must be 'full', 'random' or 'metis'")
        if self.num_parts < 1 or self.eval_parts < 1 or self.eval_views < 1:
            raise ValueError(
                f"num_parts={self.num_parts}, eval_parts={self.eval_parts} and "
                f"eval_views={self.eval_views} must be at least 1"
            )


@dataclass
class TrainResult:
    """Outcome of :func:`train`: scores of the best-valid epoch and the run's cost."""

    dataset: str
    metric: str
    epochs: int
    best_epoch: int
    train_metric: float
    valid_metric: float
    test_metric: float
    final_loss: float
    num_params: int
    peak_bytes: int
    peak_rss_bytes: int
    seconds: float
    seed: int
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def as_dict(self, history: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not history:
            out.pop("history")
        return out


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator is what user code shares)
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    npst = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["gauss"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_atomic(obj: Any, path: str) -> None:
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f".{osp.basename(path)}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`train` (``weights_only=True``: no code runs)."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a revgnn checkpoint (format {CHECKPOINT_FORMAT})")
    return ckpt


def _state_copy(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _autocast(device: torch.device, amp: str | None) -> contextlib.AbstractContextManager:
    if amp is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def _forward(model: nn.Module, batch: Data) -> Tensor:
    edge_attr = batch.get("edge_attr")
    if edge_attr is None:
        return model(batch.x, batch.edge_index)
    return model(batch.x, batch.edge_index, edge_attr)


def _loss(dataset: NodeDataset, out: Tensor, y: Tensor, label_smoothing: float) -> Tensor:
    out = out.float()
    if dataset.task == "multiclass":
        return F.cross_entropy(out, y.view(-1), label_smoothing=label_smoothing)
    return F.binary_cross_entropy_with_logits(out, y.float())


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: NodeDataset,
    *,
    num_parts: int = 1,
    num_views: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    amp: str | None = None,
    scorer: Scorer | None = None,
) -> dict[str, float]:
    """Scores of ``model`` on the train, valid and test nodes (model left in eval mode).

    Inference is full-graph (``num_parts=1``) or averaged over ``num_views`` fixed random
    partitions into ``num_parts`` parts; see :func:`~revgnn.partition.multiview_predict`.
    """
    device = torch.device(device)
    scorer = scorer or Scorer(dataset)
    model.eval()

    def forward(batch: Data) -> Tensor:
        with _autocast(device, amp):
            return _forward(model, batch.to(device))

    out = multiview_predict(forward, dataset.data, num_parts, num_views, seed).cpu()
    y = dataset.data.y
    return {part: scorer(y[idx], out[idx]) for part, idx in dataset.split.items()}


class _Log:
    """Append-only JSONL log; on resume, lines after the checkpoint's epoch are dropped."""

    def __init__(self, path: str | None, keep_until: int | None) -> None:
        self.path = path
        if path is None:
            return
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        if keep_until is None:
            open(path, "w").close()
        elif osp.exists(path):
            with open(path) as f:
                lines = [ln for ln in f if ln.strip()]
            kept = [ln for ln in lines if json.loads(ln).get("epoch", 0) <= keep_until]
            with open(path, "w") as f:
                f.writelines(kept)

    def write(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")


def _measure(
    fn: Callable[[], float], device: torch.device, profile: bool
) -> tuple[float, int | None]:
    # CUDA's allocator peak is free; the CPU measurement runs the profiler, so only when asked.
    if device.type == "cuda" or profile:
        out, peak = measure_peak(fn, device)
        return out, peak.peak_bytes
    return fn(), None


def _param_groups(
    model: nn.Module, weight_decay: float, decay_on: tuple[str, ...]
) -> list[dict[str, Any]]:
    if not decay_on:
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    modules = dict(model.named_modules())
    missing = [name for name in decay_on if name not in modules]
    if missing:
        raise ValueError(f"weight_decay_on={decay_on!r}: the model has no submodule {missing[0]!r}")
    decayed = {id(p) for name in decay_on for p in modules[name].parameters()}
    params = list(model.parameters())
    return [
        {"params": [p for p in params if id(p) in decayed], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) not in decayed], "weight_decay": 0.0},
    ]


def _init_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """(world size, rank, device) of this process.

    Joins the process group that ``torchrun`` describes in the environment (``WORLD_SIZE``,
    ``RANK``, ``MASTER_ADDR``, ...) unless one is initialised already: gloo on CPU, nccl on
    CUDA. On CUDA an index-less ``device`` becomes ``cuda:LOCAL_RANK``. Without either, the
    run is single-process: ``(1, 0, device)``.
    """
    if not dist.is_available():
        return 1, 0, device
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return 1, 0, device
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    world, rank = dist.get_world_size(), dist.get_rank()
    if world > 1 and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    return world, rank, device


def _rank_seed(seed: int, epoch: int, rank: int) -> int:
    state = np.random.SeedSequence([seed, epoch, rank]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


def _check_same_partition(batches: list[Data]) -> None:
    # Every rank draws the partition itself; a rank that drew another one (e.g. a METIS
    # build that differs between machines) would silently train on the wrong nodes.
    digest = [hashlib.sha1(b.n_id.cpu().numpy().tobytes()).hexdigest() for b in batches]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, digest)
    if any(g != gathered[0] for g in gathered):
        raise RuntimeError(
            "the ranks drew different training partitions; give every rank the same data, "
            "seed and METIS assignment (e.g. a shared metis_cache folder)"
        )


def train(
    model: nn.Module,
    dataset: NodeDataset,
    config: TrainConfig | None = None,
    *,
    partitioner: Partitioner | None = None,
) -> TrainResult:
    """Train ``model`` on ``dataset``; return the best-valid scores (weights left loaded).

    Args:
        model (nn.Module): Any model with ``forward(x, edge_index[, edge_attr])`` returning
            logits :math:`(n, C)`; optional hooks ``epoch_start(epoch)`` and
            ``log_metrics() -> dict``.
        dataset (NodeDataset): The (validated) dataset.
        config (TrainConfig, optional): Settings; the defaults when ``None``.
        partitioner (Partitioner, optional): Overrides ``config.partition`` (e.g. a
            prebuilt :class:`~revgnn.partition.MetisPartition`).

    Under ``torchrun`` (or in an initialised process group of :math:`P > 1` processes) the
    run is data-parallel: every rank builds the same model (DDP copies rank 0's weights),
    draws the same partition of each epoch and trains on batches ``rank, rank + P, ...`` of
    it, one step per batch with DDP averaging the gradients, so a step equals one
    single-process step on the mean gradient of :math:`P` batches. The number of batches
    per epoch must be a multiple of :math:`P` (full-batch training does not split). Dropout
    draws differ between ranks (the global torch generator is reseeded every epoch from
    ``(seed, epoch, rank)``). BatchNorm normalises with each rank's batch statistics; the
    running statistics are rank 0's (DDP broadcasts rank 0's buffers at every forward).
    Rank 0 alone evaluates, logs, shows the bar and writes checkpoints; at the end every rank
    holds rank 0's best-valid weights and returns its scores.
    """
    cfg = config or TrainConfig()
    world, rank, device = _init_distributed(torch.device(cfg.device))
    distributed, main = world > 1, rank == 0
    model.to(device)
    scorer = Scorer(dataset)
    parts = partitioner or make_partitioner(
        dataset.data, cfg.partition, cfg.num_parts, cfg.seed, cfg.metis_cache
    )
    if distributed and isinstance(parts, FullBatch):
        raise ValueError(
            f"partition='full' cannot be shared by world_size={world} processes (one batch per "
            "epoch); use partition='random' or 'metis' with num_parts a multiple of it"
        )
    if isinstance(parts, FullBatch):  # move the graph once, not every epoch
        parts.data = parts.data.to(device)
    train_mask = torch.zeros(dataset.num_nodes, dtype=torch.bool, device=device)
    train_mask[dataset.split["train"].to(device)] = True
    optimizer = torch.optim.Adam(
        _param_groups(model, cfg.weight_decay, cfg.weight_decay_on), lr=cfg.lr
    )
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16")
    num_params = sum(p.numel() for p in model.parameters())
    # Rank 0 evaluates and saves the plain module: DDP's forward would wait for the others.
    net: nn.Module = model
    if distributed:
        net = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=False,
        )

    start, elapsed, peak_bytes, final_loss = 1, 0.0, 0, math.nan
    best: dict[str, Any] = {"epoch": 0, "valid": -math.inf, "train": math.nan, "test": math.nan}
    best_state: dict[str, Tensor] | None = None
    resumed = cfg.resume and cfg.checkpoint is not None and osp.exists(cfg.checkpoint)
    if resumed:
        ckpt = load_checkpoint(cfg.checkpoint, device)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"])
        best, best_state = ckpt["best"], ckpt["best_model"]
        start, elapsed = ckpt["epoch"] + 1, ckpt["seconds"]
        peak_bytes, final_loss = ckpt["peak_bytes"], ckpt["final_loss"]
    log = _Log(cfg.log_path if main else None, start - 1 if resumed else None)
    if distributed:
        _check_same_partition(parts.batches(start))

    def save(epoch: int) -> None:
        _save_atomic(
            {
                "format": CHECKPOINT_FORMAT,
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scaler": scaler.state_dict(),
                "rng": _rng_state(),
                "best": best,
                "best_model": best_state,
                "seconds": elapsed,
                "peak_bytes": peak_bytes,
                "final_loss": final_loss,
            },
            cfg.checkpoint,
        )

    def train_epoch(epoch: int) -> float:
        model.train()
        total, count = 0.0, 0
        batches = parts.batches(epoch)
        if distributed:
            batches = shard_batches(batches, rank, world)
        for batch in batches:
            batch = batch.to(device)
            mask = train_mask[batch.n_id]
            n = int(mask.sum())
            if n == 0 and not distributed:
                continue
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, cfg.amp):
                out = _forward(net, batch)
            if n > 0:
                loss = _loss(dataset, out[mask], batch.y[mask], cfg.label_smoothing)
            else:  # no training node here, yet the rank must join the gradient all-reduce
                loss = out.float().sum() * 0.0
            scaler.scale(loss).backward()
            if cfg.grad_clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            total += float(loss.detach()) * n
            count += n
        if distributed:  # the loss over every rank's training nodes
            sums = torch.tensor([total, count], dtype=torch.float64, device=device)
            dist.all_reduce(sums)
            total, count = float(sums[0]), int(sums[1])
        return total / max(count, 1)

    history: list[dict[str, Any]] = []
    bar = tqdm(
        range(start, cfg.epochs + 1),
        desc=f"{dataset.name} seed {cfg.seed}",
        initial=start - 1,
        total=cfg.epochs,
        disable=not (cfg.progress and main),
        unit="epoch",
        dynamic_ncols=True,
    )
    metric = dataset.metric
    for epoch in bar:
        t0 = time.perf_counter()
        if distributed:
            torch.manual_seed(_rank_seed(cfg.seed, epoch, rank))
        if hasattr(model, "epoch_start"):
            model.epoch_start(epoch)
        profile = epoch == start or (cfg.memory_every > 0 and epoch % cfg.memory_every == 0)
        loss, epoch_peak = _measure(lambda e=epoch: train_epoch(e), device, profile)
        final_loss = loss
        record: dict[str, Any] = {"epoch": epoch, "loss": loss}
        if main and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs):
            scores = evaluate(
                model,
                dataset,
                num_parts=cfg.eval_parts,
                num_views=cfg.eval_views,
                seed=cfg.seed,
                device=device,
                amp=cfg.amp,
                scorer=scorer,
            )
            record.update({f"{k}_{metric}": v for k, v in scores.items()})
            if scores["valid"] > best["valid"]:
                best = {"epoch": epoch, **scores}
                best_state = _state_copy(model)
        if hasattr(model, "log_metrics"):
            record.update({k: float(v) for k, v in model.log_metrics().items()})
        elapsed += time.perf_counter() - t0
        if epoch_peak is not None:
            peak_bytes = max(peak_bytes, epoch_peak)
            record["peak_bytes"] = epoch_peak
        record["peak_rss_bytes"] = peak_rss_bytes()
        record["seconds"] = elapsed
        log.write(record)
        history.append(record)
        postfix = {"loss": f"{loss:.4f}"}
        if f"valid_{metric}" in record:
            postfix[f"valid_{metric}"] = f"{record[f'valid_{metric}']:.4f}"
        postfix[f"best_test_{metric}"] = f"{best['test']:.4f}"
        bar.set_postfix(postfix, refresh=False)
        if (
            main
            and cfg.checkpoint is not None
            and (epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs)
        ):
            save(epoch)
        if distributed:
            dist.barrier()
    bar.close()

    if main and best_state is not None:
        model.load_state_dict(best_state)
    if distributed:  # every rank returns rank 0's best weights and scores
        shared = [best]
        dist.broadcast_object_list(shared, src=0)
        best = shared[0]
        with torch.no_grad():
            for tensor in model.state_dict().values():
                dist.broadcast(tensor, src=0)
    return TrainResult(
        dataset=dataset.name,
        metric=metric,
        epochs=cfg.epochs,
        best_epoch=int(best["epoch"]),
        train_metric=float(best["train"]),
        valid_metric=float(best["valid"]),
        test_metric=float(best["test"]),
        final_loss=float(final_loss),
        num_params=num_params,
        peak_bytes=int(peak_bytes),
        peak_rss_bytes=peak_rss_bytes(),
        seconds=float(elapsed),
        seed=cfg.seed,
        history=history,
    )


def _run_path(path: str | None, run: int, runs: int) -> str | None:
    if path is None or runs == 1:
        return path
    stem, ext = osp.splitext(path)
    return f"{stem}.run{run}{ext}"


def leaderboard(
    build_model: Callable[[], nn.Module],
    dataset: NodeDataset,
    config: TrainConfig,
    runs: int,
    *,
    name: str = "model",
    on_result: Callable[[int, TrainResult], None] | None = None,
) -> dict[str, Any]:
    """Train ``runs`` seeds (``config.seed``, ``+1``, ...) and summarise them.

    Each run seeds everything, builds a fresh model with ``build_model()`` and trains it
    (checkpoint and log files get a ``.run<r>`` suffix). Returns the OGB leaderboard
    summary: mean and standard deviation of the valid and test scores, the parameter count
    and the highest peak memory, plus every run's figures.
    """
    if runs < 1:
        raise ValueError(f"runs={runs} must be at least 1")
    results = []
    for r in range(runs):
        cfg = replace(
            config,
            seed=config.seed + r,
            checkpoint=_run_path(config.checkpoint, r, runs),
            log_path=_run_path(config.log_path, r, runs),
        )
        seed_everything(cfg.seed)
        result = train(build_model(), dataset, cfg)
        results.append(result)
        if on_result is not None:
            on_result(r, result)
    valid = torch.tensor([r.valid_metric for r in results], dtype=torch.float64)
    test = torch.tensor([r.test_metric for r in results], dtype=torch.float64)

    def std(t: Tensor) -> float:
        return float(t.std()) if t.numel() > 1 else 0.0

    return {
        "model": name,
        "dataset": dataset.name,
        "metric": dataset.metric,
        "split": dataset.split_info,
        "runs": runs,
        "valid_mean": float(valid.mean()),
        "valid_std": std(valid),
        "test_mean": float(test.mean()),
        "test_std": std(test),
        "num_params": results[0].num_params,
        "peak_bytes": max(r.peak_bytes for r in results),
        "seconds_mean": float(np.mean([r.seconds for r in results])),
        "per_run": [r.as_dict() for r in results],
    }


def leaderboard_markdown(summary: dict[str, Any]) -> str:
    """The summary of :func:`leaderboard` as a markdown table (OGB's submission columns)."""
    metric = {"acc": "Accuracy", "rocauc": "ROC-AUC"}[summary["metric"]]
    scale = 100.0

    def fmt(mean: float, std: float) -> str:
        return f"{scale * mean:.2f} ± {scale * std:.2f}"

    rows = [
        f"| Model | Test {metric} | Validation {metric} | #Params | Peak memory | Runs |",
        "|---|---|---|---|---|---|",
        f"| {summary['model']} | {fmt(summary['test_mean'], summary['test_std'])} | "
        f"{fmt(summary['valid_mean'], summary['valid_std'])} | {summary['num_params']:,} | "
        f"{_human_bytes(summary['peak_bytes'])} | {summary['runs']} |",
    ]
    return "\n".join(rows) + "\n"


def _human_bytes(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def iter_records(path: str) -> Iterator[dict[str, Any]]:
    """The epoch records of a JSONL log written by :func:`train`."""
    with open(path) as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
