r"""The one training loop of revgnn: used by the CLI, the examples, the benchmarks and the
profiler (through :func:`~revgnn.training.step.train_step`).

:func:`train` fits a model on a :class:`~revgnn.training.Task` (a
:class:`~revgnn.datasets.NodeDataset` is a full-batch :class:`~revgnn.training.NodeTask`):

* Adam or SGD with gradient-norm clipping and a cosine or step learning-rate schedule; AMP
  (``amp="bf16"`` or ``"fp16"``, the latter with a ``GradScaler``); one optimiser step per
  batch of the task;
* evaluation every ``eval_every`` epochs by the task's scorer; the best-valid weights are kept
  and loaded at the end; a warning when the predictions collapse to one class;
* checkpoints written atomically (model, optimiser, scaler, epoch, every RNG state, the best
  model and score) and read with ``weights_only=True``; ``resume=True`` continues a killed
  run and, on CPU, ends with exactly the metrics of an uninterrupted run; an existing
  checkpoint is never replaced by a run that did not resume from it (unless ``overwrite``);
* on CPU, freed memory kept in the heap for the next step
  (:func:`~revgnn.utils.malloc.reuse_freed_memory`: 3x faster aggregation steps), except
  during profiled epochs;
* a tqdm bar with loss and metric (or one printed line per evaluation without it), one JSON
  line per epoch (loss, scores, seconds, peak memory from :mod:`revgnn.memory`, and the
  model's own ``log_metrics()``); on CPU the peak of live tensors is measured by the profiler
  on the last epoch (and every ``memory_every``), and the process's peak RSS is read before
  the first profiled epoch, since the profiler's own records would be part of it (about
  2 MiB a layer);
* multi-process data parallelism under ``torchrun`` (``WORLD_SIZE`` > 1, or an initialised
  ``torch.distributed`` group): the model is wrapped in
  :class:`~torch.nn.parallel.DistributedDataParallel`, every rank draws the same batches of an
  epoch and takes batches ``rank, rank + P, ...`` of them, DDP averages the gradients, and
  rank 0 alone evaluates, logs and writes checkpoints while the others wait.

Model hooks: ``epoch_start(epoch)`` is called before each epoch and ``log_metrics()``'s dict is
added to the epoch's log line, when the model has them.
"""

from __future__ import annotations

import math
import os.path as osp
import time
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from revgnn.datasets.node_dataset import NodeDataset
from revgnn.memory.peak import measure_peak, peak_rss_bytes
from revgnn.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model_state,
    save_checkpoint,
)
from revgnn.training.collapse import CollapseMonitor
from revgnn.training.config import TrainConfig
from revgnn.training.distributed import (
    check_same_batches,
    init_distributed,
    rank_seed,
    shard_batches,
)
from revgnn.training.log import JsonlLog
from revgnn.training.node_task import NodeTask
from revgnn.training.result import TrainResult
from revgnn.training.seed import get_global_rng_state, set_global_rng_state
from revgnn.training.step import train_step
from revgnn.training.task import Task
from revgnn.utils.malloc import release_freed_memory, reuse_freed_memory
from revgnn.utils.warn import warn_user

__all__ = ["PROFILE_STEPS", "make_scheduler", "param_groups", "train"]

#: On CPU the profiled epochs measure their first this many steps (the profiler slows each
#: step down and keeps a record of every allocation).
PROFILE_STEPS = 20


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule of ``cfg.scheduler``, stepped once per epoch."""
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.epochs, cfg.lr_min)
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_step, cfg.lr_gamma)
    return None


def param_groups(
    model: nn.Module, weight_decay: float, decay_on: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Adam's parameter groups: weight decay on the submodules ``decay_on`` (all if empty)."""
    if not decay_on:
        return [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    modules = dict(model.named_modules())
    missing = [name for name in decay_on if name not in modules]
    if missing:
        names = ", ".join(n for n, _ in model.named_children())
        raise ValueError(
            f"weight_decay_on={decay_on!r}: the model has no submodule {missing[0]!r} "
            f"(its top-level submodules: {names})"
        )
    decayed = {id(p) for name in decay_on for p in modules[name].parameters()}
    params = list(model.parameters())
    return [
        {"params": [p for p in params if id(p) in decayed], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) not in decayed], "weight_decay": 0.0},
    ]


class _Run:
    """The state of one call of :func:`train` (see the module docstring)."""

    def __init__(self, model: nn.Module, task: Task, cfg: TrainConfig) -> None:
        self.cfg = cfg
        self.world, self.rank, self.device = init_distributed(torch.device(cfg.device))
        self.distributed, self.main = self.world > 1, self.rank == 0
        self.model = model.to(self.device)
        self.task = task
        task.setup(self.device, cfg.seed)
        if self.distributed and isinstance(task, NodeTask) and task.full_batch:
            raise ValueError(
                f"partition='full' cannot be shared by world_size={self.world} processes (one "
                "batch per epoch); use partition='random' or 'metis' with num_parts a multiple "
                "of it"
            )
        groups = param_groups(model, cfg.weight_decay, cfg.weight_decay_on)
        if cfg.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                groups, lr=cfg.lr, momentum=cfg.momentum
            )
        else:
            self.optimizer = torch.optim.Adam(groups, lr=cfg.lr)
        self.scheduler = make_scheduler(self.optimizer, cfg)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == "fp16")
        self.params = list(model.parameters())
        self.num_params = sum(p.numel() for p in self.params)
        # Rank 0 evaluates and saves the plain module: DDP's forward would wait for the others.
        self.net: nn.Module = model
        if self.distributed:
            self.net = DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.start, self.elapsed, self.peak_bytes, self.final_loss = 1, 0.0, 0, math.nan
        self.best: dict[str, Any] = {
            "epoch": 0,
            "valid": -math.inf,
            "train": math.nan,
            "test": math.nan,
        }
        self.best_state: dict[str, Tensor] | None = None
        self.resumed_from = 0
        self.collapse = CollapseMonitor(cfg.collapse_patience)
        self.clean_rss: int | None = None

    def say(self, message: str) -> None:
        if self.main:
            tqdm.write(message) if self.cfg.progress else print(message, flush=True)

    # -- checkpoints

    def open_checkpoint(self) -> None:
        """Resume from, or guard, the checkpoint file (see :class:`TrainConfig`)."""
        path = self.cfg.checkpoint
        if path is None:
            return
        exists = osp.exists(path)
        if not self.cfg.resume:
            if exists and not self.cfg.overwrite:
                raise CheckpointError(
                    f"checkpoint {path} exists and this run does not resume from it: pass "
                    "--resume to continue that run, --overwrite to replace it, or another "
                    "--checkpoint"
                )
            self.say(
                f"checkpoint {path}: new run (written every {self.cfg.checkpoint_every} epochs)"
            )
            return
        if not exists:
            if not self.cfg.missing_ok:
                raise CheckpointError(
                    f"checkpoint {path} does not exist, so there is nothing to resume: check "
                    "the path, or pass --resume-if-exists to start fresh when there is none"
                )
            self.say(f"checkpoint {path}: none yet, starting a new run")
            return
        ckpt = load_checkpoint(path, self.device)
        load_model_state(self.model, ckpt["model"], path, ckpt.get("model_repr"))
        try:
            self.optimizer.load_state_dict(ckpt["optimizer"])
            self.scaler.load_state_dict(ckpt["scaler"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(ckpt["scheduler"])
        except (ValueError, KeyError) as e:
            raise CheckpointError(
                f"checkpoint {path} holds an optimiser state this run cannot use ({e}); "
                "resume with the settings of the run that wrote it"
            ) from None
        set_global_rng_state(ckpt["rng"])
        self.best, self.best_state = ckpt["best"], ckpt["best_model"]
        self.start, self.elapsed = ckpt["epoch"] + 1, ckpt["seconds"]
        self.peak_bytes, self.final_loss = ckpt["peak_bytes"], ckpt["final_loss"]
        self.resumed_from = ckpt["epoch"]
        left = "nothing left to train" if self.start > self.cfg.epochs else "continuing"
        self.say(
            f"checkpoint {path}: resumed at epoch {ckpt['epoch']} of {self.cfg.epochs} ({left})"
        )

    def save(self, epoch: int) -> None:
        save_checkpoint(
            {
                "epoch": epoch,
                "model": self.model.state_dict(),
                "model_repr": repr(self.model),
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(),
                "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
                "rng": get_global_rng_state(),
                "best": self.best,
                "best_model": self.best_state,
                "seconds": self.elapsed,
                "peak_bytes": self.peak_bytes,
                "final_loss": self.final_loss,
            },
            self.cfg.checkpoint,
        )

    # -- one epoch

    def steps(self, batches: list[Any]) -> tuple[float, int]:
        total, count = 0.0, 0
        cfg = self.cfg
        for batch in batches:
            self.optimizer.zero_grad(set_to_none=True)
            loss, n = train_step(
                self.net,
                self.task,
                batch,
                self.optimizer,
                self.scaler,
                device=self.device,
                amp=cfg.amp,
                grad_clip=cfg.grad_clip,
                label_smoothing=cfg.label_smoothing,
                params=self.params,
                always_backward=self.distributed,
            )
            if n > 0:
                value = float(loss)
                if not math.isfinite(value) and cfg.amp != "fp16":
                    raise FloatingPointError(
                        f"the training loss became {value}: the weights are lost from here on "
                        "(the last checkpoint is intact). Try a lower learning rate (--lr), "
                        "gradient clipping (--grad-clip 1.0), or --amp bf16 instead of fp16"
                    )
                total += value * n
                count += n
        return total, count

    def train_epoch(self, epoch: int, profile: bool) -> tuple[float, int | None]:
        self.model.train()
        batches = self.task.train_batches(epoch)
        if self.distributed:
            if epoch == self.start:
                check_same_batches(batches)
            batches = shard_batches(batches, self.rank, self.world)
        peak = None
        if self.device.type == "cuda" or profile:
            # The profiler sees only the frees of what it saw allocated: drop the previous
            # step's gradients before it starts.
            self.optimizer.zero_grad(set_to_none=True)
            k = len(batches) if self.device.type == "cuda" else PROFILE_STEPS
            (total, count), measured = measure_peak(lambda: self.steps(batches[:k]), self.device)
            rest_total, rest_count = self.steps(batches[k:])
            total, count, peak = total + rest_total, count + rest_count, measured.peak_bytes
        else:
            total, count = self.steps(batches)
        if self.distributed:  # the loss over every rank's training examples
            sums = torch.tensor([total, count], dtype=torch.float64, device=self.device)
            dist.all_reduce(sums)
            total, count = float(sums[0]), int(sums[1])
        return total / max(count, 1), peak

    def evaluate(self, epoch: int, record: dict[str, Any]) -> None:
        result = self.task.evaluate(self.model, self.device, self.cfg.amp)
        scores = result.scores
        record.update({f"{k}_{self.task.metric}": v for k, v in scores.items()})
        record.update(result.extra)
        if scores["valid"] > self.best["valid"]:
            self.best = {"epoch": epoch, **scores}
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        message = self.collapse.update(epoch, result.valid_classes)
        if message is not None:
            warn_user(message)

    def progress_line(self, epoch: int, record: dict[str, Any]) -> str:
        m = self.task.metric
        return (
            f"{self.task.name} seed {self.cfg.seed} | epoch {epoch}/{self.cfg.epochs} | loss "
            f"{record['loss']:.4f} | valid {m} {record[f'valid_{m}']:.4f} | best test {m} "
            f"{self.best['test']:.4f} (epoch {self.best['epoch']}) | {self.elapsed:.0f} s"
        )

    # -- the run

    def fit(self) -> TrainResult:
        cfg = self.cfg
        if self.device.type == "cpu":
            reuse_freed_memory()  # no page faults for every step's large temporaries
        self.open_checkpoint()
        log = JsonlLog(
            cfg.log_path if self.main else None, self.start - 1 if self.resumed_from else None
        )
        history: list[dict[str, Any]] = []
        bar = tqdm(
            range(self.start, cfg.epochs + 1),
            desc=f"{self.task.name} seed {cfg.seed}",
            initial=self.start - 1,
            total=cfg.epochs,
            disable=not (cfg.progress and self.main),
            unit="epoch",
            dynamic_ncols=True,
        )
        metric = self.task.metric
        for epoch in bar:
            t0 = time.perf_counter()
            if self.distributed:
                torch.manual_seed(rank_seed(cfg.seed, epoch, self.rank))
            if hasattr(self.model, "epoch_start"):
                self.model.epoch_start(epoch)
            every = cfg.memory_every
            profile = epoch == cfg.epochs or (every > 0 and epoch % every == 0)
            if profile and self.device.type == "cpu" and self.clean_rss is None:
                # From here on the profiler's records are part of the process's RSS.
                self.clean_rss = peak_rss_bytes()
            lr = self.optimizer.param_groups[0]["lr"]
            cpu_profile = profile and self.device.type == "cpu"
            if cpu_profile:  # its records would pin freed tensor memory in a reusing heap
                release_freed_memory()
            loss, epoch_peak = self.train_epoch(epoch, profile)
            if cpu_profile:
                reuse_freed_memory()
            if self.scheduler is not None:
                self.scheduler.step()
            self.final_loss = loss
            record: dict[str, Any] = {"epoch": epoch, "loss": loss, "lr": lr}
            evaluated = self.main and (epoch % cfg.eval_every == 0 or epoch == cfg.epochs)
            if evaluated:
                self.evaluate(epoch, record)
            if hasattr(self.model, "log_metrics"):
                record.update({k: float(v) for k, v in self.model.log_metrics().items()})
            self.elapsed += time.perf_counter() - t0
            if epoch_peak is not None:
                self.peak_bytes = max(self.peak_bytes, epoch_peak)
                record["peak_bytes"] = epoch_peak
            record["peak_rss_bytes"] = peak_rss_bytes()
            record["seconds"] = self.elapsed
            log.write(record)
            history.append(record)
            postfix = {"loss": f"{loss:.4f}"}
            if f"valid_{metric}" in record:
                postfix[f"valid_{metric}"] = f"{record[f'valid_{metric}']:.4f}"
            postfix[f"best_test_{metric}"] = f"{self.best['test']:.4f}"
            bar.set_postfix(postfix, refresh=False)
            if evaluated and not cfg.progress:
                self.say(self.progress_line(epoch, record))
            if (
                self.main
                and cfg.checkpoint is not None
                and (epoch % cfg.checkpoint_every == 0 or epoch == cfg.epochs)
            ):
                self.save(epoch)
            if self.distributed:
                dist.barrier()
        bar.close()
        return self.finish(history)

    def finish(self, history: list[dict[str, Any]]) -> TrainResult:
        if self.main and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        best = self.best
        if self.distributed:  # every rank returns rank 0's best weights and scores
            shared = [best]
            dist.broadcast_object_list(shared, src=0)
            best = shared[0]
            with torch.no_grad():
                for tensor in self.model.state_dict().values():
                    dist.broadcast(tensor, src=0)
        return TrainResult(
            dataset=self.task.name,
            metric=self.task.metric,
            epochs=self.cfg.epochs,
            best_epoch=int(best["epoch"]),
            train_metric=float(best["train"]),
            valid_metric=float(best["valid"]),
            test_metric=float(best["test"]),
            final_loss=float(self.final_loss),
            num_params=self.num_params,
            peak_bytes=int(self.peak_bytes),
            peak_rss_bytes=self.clean_rss if self.clean_rss is not None else peak_rss_bytes(),
            seconds=float(self.elapsed),
            seed=self.cfg.seed,
            resumed_from=self.resumed_from,
            history=history,
        )


def train(
    model: nn.Module, task: Task | NodeDataset, config: TrainConfig | None = None
) -> TrainResult:
    """Train ``model`` on ``task``; return the best-valid scores (weights left loaded).

    Args:
        model (nn.Module): The model the task calls (node tasks: ``forward(x, edge_index[,
            edge_attr])`` returning logits :math:`(n, C)`); optional hooks
            ``epoch_start(epoch)`` and ``log_metrics() -> dict``.
        task (Task or NodeDataset): What to learn; a dataset is a full-batch
            :class:`~revgnn.training.NodeTask` (validated: NaN features or an edge index
            outside the graph are a ``ValueError``).
        config (TrainConfig, optional): Settings; the defaults when ``None``.

    Under ``torchrun`` (or in an initialised process group of :math:`P > 1` processes) the
    run is data-parallel: every rank builds the same model (DDP copies rank 0's weights),
    draws the same batches of each epoch and trains on batches ``rank, rank + P, ...`` of
    them, one step per batch with DDP averaging the gradients, so a step equals one
    single-process step on the mean gradient of :math:`P` batches. The number of batches
    per epoch must be a multiple of :math:`P` (full-batch training does not split). Dropout
    draws differ between ranks (the global torch generator is reseeded every epoch from
    ``(seed, epoch, rank)``). BatchNorm normalises with each rank's batch statistics; the
    running statistics are rank 0's (DDP broadcasts rank 0's buffers at every forward).
    Rank 0 alone evaluates, logs, shows the bar and writes checkpoints; at the end every rank
    holds rank 0's best-valid weights and returns its scores.
    """
    return _Run(model, NodeTask.of(task), config or TrainConfig()).fit()
