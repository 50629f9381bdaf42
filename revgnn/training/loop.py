r"""The one training loop of revgnn: a small core and its callbacks.

:func:`train` fits a model on a :class:`~revgnn.training.Task` (a
:class:`~revgnn.datasets.NodeDataset` is a full-batch :class:`~revgnn.training.NodeTask`).
The core (:class:`Loop`) does the optimisation: the task's optimisers (Adam or SGD with
weight-decay groups and a schedule by default), one step per batch under AMP (``"bf16"`` or
``"fp16"``, the latter with a ``GradScaler``), evaluation every ``eval_every`` epochs on rank 0,
and multi-process data parallelism under ``torchrun`` (the model in
:class:`~torch.nn.parallel.DistributedDataParallel`, every rank drawing the same batches of an
epoch and taking batches ``rank, rank + P, ...`` of them). Everything else is a
:class:`~revgnn.training.Callback` (:func:`default_callbacks`): the checkpoint and resume,
the best weights, early stopping, the collapse monitor, the memory measurements, the JSONL
log and the progress bar; a user adds their own with ``callbacks=``.

Model hooks: ``epoch_start(epoch)`` is called before each epoch and ``log_metrics()``'s dict
is added to the epoch's log line, when the model has them.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch_geometric.data import Data, Dataset

from revgnn.config.train import TrainConfig
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.training.callback import Callback
from revgnn.training.distributed import (
    check_same_batches,
    init_distributed,
    rank_seed,
    shard_batches,
)
from revgnn.training.interrupted import SignalLatch, interrupted
from revgnn.training.node_task import NodeTask
from revgnn.training.result import TrainResult
from revgnn.training.step import train_step
from revgnn.training.task import Evaluation, Task
from revgnn.utils.modules import set_training

__all__ = ["Loop", "default_callbacks", "resolve_device", "train"]


def resolve_device(device: str) -> torch.device:
    """``"auto"``: CUDA when torch sees a GPU, else the CPU; a device this machine or this
    torch build does not have (CUDA without a GPU, ``mps``, ``cuda:3`` on one GPU) is an
    error saying so."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device={device!r} is not a device (cpu, cuda, cuda:1, ...)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}, but this torch sees no CUDA GPU (torch {torch.__version__}, "
            f"built with CUDA {torch.version.cuda}): use --device cpu"
        )
    gpus = torch.cuda.device_count()
    other = f" or one of cuda:0..cuda:{gpus - 1}" if gpus else ""
    # A GPU is counted, not allocated on: a profiler's parent process holds no CUDA context.
    if dev.type == "cuda" and (dev.index or 0) >= gpus:
        raise ValueError(
            f"device={device!r}, but this machine has {gpus} GPU(s): use --device cpu{other}"
        )
    if dev.type not in ("cpu", "cuda"):
        try:  # mps, xpu, ...: whether this build and machine can place a tensor there
            torch.empty(0, device=dev)
        except (RuntimeError, AssertionError) as e:
            why = " ".join(str(e).split()).split(". ")[0][:160]
            raise ValueError(
                f"device={device!r} is not usable with this torch {torch.__version__} ({why}): "
                f"use --device cpu{other}"
            ) from None
    return dev


class Loop:
    """The state of one call of :func:`train`: what callbacks read and change.

    Attributes: ``model`` (the module; ``net`` is what steps call, DDP-wrapped when
    distributed), ``task``, ``cfg``, ``device``, ``world`` / ``rank`` / ``main``,
    ``optimizers``, ``scaler``, ``start`` (the first epoch this process trains),
    ``resumed_from``, ``elapsed`` (training seconds, over resumes), ``best`` (the best-valid
    epoch's scores), ``final_loss``, ``peak_bytes``, ``history``, ``should_stop`` (set to end
    the run after the current epoch) and ``stop_reason``.
    """

    def __init__(
        self,
        model: nn.Module,
        task: Task,
        cfg: TrainConfig,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.cfg = cfg
        self.world, self.rank, self.device = init_distributed(resolve_device(cfg.device))
        self.distributed, self.main = self.world > 1, self.rank == 0
        self.model = model.to(self.device)
        self.task = task
        if cfg.label_smoothing > 0.0 and not task.smooths_labels:
            raise ValueError(
                f"label_smoothing={cfg.label_smoothing} smooths class labels; the "
                f"{task.name} task ({task.metric}) has none: --label-smoothing 0"
            )
        task.setup(self.device, cfg.seed)
        if self.distributed and isinstance(task, NodeTask) and task.full_batch:
            raise ValueError(
                f"partition='full' cannot be shared by world_size={self.world} processes (one "
                "batch per epoch); use partition='random' or 'metis' with num_parts a multiple "
                "of it"
            )
        self.optimizers = task.optimizers(model, cfg.optim)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == "fp16")
        self.params = list(model.parameters())
        self.num_params = sum(p.numel() for p in self.params)
        # Rank 0 evaluates and saves the plain module: DDP's forward would wait for the others.
        self.net: nn.Module = model
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = DistributedDataParallel(model, device_ids=ids)
        self.callbacks = sorted(callbacks, key=lambda c: c.order)
        self.start, self.resumed_from, self.elapsed = 1, 0, 0.0
        worst = -math.inf if task.maximize else math.inf
        self.best: dict[str, Any] = {"epoch": 0, "valid": worst, "train": math.nan,
                                     "test": math.nan}  # fmt: skip
        self.final_loss, self.peak_bytes = math.nan, 0
        self.peak_rss_bytes: int | None = None
        self.history: list[dict[str, Any]] = []
        self.should_stop, self.stop_reason = False, ""
        self.signals = SignalLatch()
        self.epochs_run = 0

    def find(self, kind: type) -> Any:
        """The first callback of type ``kind``, or ``None``."""
        return next((c for c in self.callbacks if isinstance(c, kind)), None)

    def say(self, message: str) -> None:
        """Print ``message`` on rank 0 (through the bar when there is one)."""
        if self.main:
            from tqdm.auto import tqdm

            tqdm.write(message) if self.cfg.progress else print(message, flush=True)

    def stop(self, reason: str) -> None:
        """End the run after the current epoch, saying why."""
        self.should_stop, self.stop_reason = True, reason

    # -- the step

    def train_step(
        self,
        batch: Any,
        optimizer: torch.optim.Optimizer,
        *,
        params: Sequence[nn.Parameter] | None = None,
        clip: bool = True,
        extra_loss: Any = None,
        task: Task | None = None,
    ) -> tuple[Tensor | None, int]:
        """One step of ``optimizer`` on ``batch`` (its gradients zeroed first), under the
        run's AMP and gradient clipping (over ``params``, default every parameter), with the
        forward pass and loss of ``task`` (default: the run's)."""
        optimizer.zero_grad(set_to_none=True)
        cfg = self.cfg
        return train_step(
            self.net,
            task or self.task,
            batch,
            optimizer,
            self.scaler,
            device=self.device,
            amp=cfg.amp,
            grad_clip=cfg.grad_clip if clip else None,
            label_smoothing=cfg.label_smoothing,
            params=params if params is not None else self.params,
            always_backward=self.distributed,
            extra_loss=extra_loss,
        )

    def _steps(self, batches: Sequence[Any]) -> tuple[float, int]:
        total, count = 0.0, 0
        for batch in batches:
            loss, n = self.task.step(self, batch)
            if n > 0:
                value = float(loss)
                if not math.isfinite(value) and self.cfg.amp != "fp16":
                    raise FloatingPointError(
                        f"the training loss became {value}: the weights are lost from here on "
                        "(the last checkpoint is intact). Try a lower learning rate (--lr), "
                        "gradient clipping (--grad-clip 1.0), or --amp bf16 instead of fp16"
                    )
                total += value * n
                count += n
            self.signals.check()
        return total, count

    def train_epoch(self, epoch: int) -> float:
        """The epoch's optimiser steps (through the callbacks' :meth:`Callback.wrap_steps`);
        returns the mean training loss over every rank's examples."""
        set_training(self.model, True)
        batches = self.task.train_batches(epoch)
        if self.distributed:
            if epoch == self.start:
                check_same_batches(batches)
            batches = shard_batches(batches, self.rank, self.world)
        run = self._steps
        for cb in reversed(self.callbacks):
            run = functools.partial(cb.wrap_steps, self, epoch, run)
        total, count = run(batches)
        if self.distributed:  # the loss over every rank's training examples
            sums = torch.tensor([total, count], dtype=torch.float64, device=self.device)
            dist.all_reduce(sums)
            total, count = float(sums[0]), int(sums[1])
        return total / max(count, 1)

    def evaluate(self, epoch: int, record: dict[str, Any]) -> Evaluation:
        evaluation = self.task.evaluate(self.model, self.device, self.cfg.amp)
        record.update({f"{k}_{self.task.metric}": v for k, v in evaluation.scores.items()})
        record.update(evaluation.extra)
        if evaluation.valid_classes is not None:
            record["valid_classes"] = evaluation.valid_classes
        return evaluation

    # -- the run

    def _epoch(self, epoch: int) -> dict[str, Any]:
        cfg = self.cfg
        t0 = time.perf_counter()
        if self.distributed:
            torch.manual_seed(rank_seed(cfg.seed, epoch, self.rank))
        if hasattr(self.model, "epoch_start"):
            self.model.epoch_start(epoch)
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch)
        lr = self.optimizers.main.param_groups[0]["lr"]
        loss = self.train_epoch(epoch)
        self.optimizers.step_schedules()
        self.final_loss = loss
        record: dict[str, Any] = {"epoch": epoch, "loss": loss, "lr": lr}
        record.update(self.task.epoch_end(self, epoch))
        last = epoch == cfg.epochs or self.task.finished()
        if self.main and (epoch % cfg.eval_every == 0 or last):
            evaluation = self.evaluate(epoch, record)
            for cb in self.callbacks:
                cb.on_evaluate(self, epoch, evaluation)
        if hasattr(self.model, "log_metrics"):
            record.update({k: float(v) for k, v in self.model.log_metrics().items()})
        self.elapsed += time.perf_counter() - t0
        record["seconds"] = self.elapsed
        return record

    def fit(self) -> TrainResult:
        for cb in self.callbacks:
            cb.on_fit_start(self)
        epoch = self.start
        try:
            with self.signals:
                for epoch in range(self.start, self.cfg.epochs + 1):
                    self._fit_epoch(epoch)
                    self.signals.check()
                    if self.should_stop:
                        break
        except KeyboardInterrupt:
            raise interrupted(self, epoch) from None
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.result()

    def _fit_epoch(self, epoch: int) -> None:
        record = self._epoch(epoch)
        self.epochs_run = epoch
        if self.task.finished() and not self.should_stop:
            self.stop("the task finished")
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, record)
        self.history.append(record)
        with self.signals.deferred():
            for cb in self.callbacks:
                cb.on_checkpoint(self, epoch)
        if self.distributed:
            dist.barrier()

    def result(self) -> TrainResult:
        best = self.best
        if self.distributed:  # every rank returns rank 0's best scores
            shared = [best]
            dist.broadcast_object_list(shared, src=0)
            best = shared[0]
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
            peak_rss_bytes=int(self.peak_rss_bytes or 0),
            seconds=float(self.elapsed),
            seed=self.cfg.seed,
            resumed_from=self.resumed_from,
            epochs_run=self.epochs_run,
            stopped=self.stop_reason,
            **self._compile_counts(),
            history=self.history,
        )

    def _compile_counts(self) -> dict[str, Any]:
        from revgnn.training.compile_monitor import CompileMonitor

        monitor = self.find(CompileMonitor)
        if monitor is None:
            return {}
        return {"compilations": monitor.compilations, "compile_seconds": monitor.seconds,
                "recompilations": monitor.recompilations}  # fmt: skip


def default_callbacks(cfg: TrainConfig) -> list[Callback]:
    """The callbacks every run has: checkpoints (with ``cfg.checkpoint``), the best weights,
    early stopping (with ``cfg.patience``), the collapse monitor, the memory measurements,
    the compilation counts, the JSONL log (with ``cfg.log_path``) and the progress bar."""
    from revgnn.training.best_weights import BestWeights
    from revgnn.training.checkpointer import Checkpointer
    from revgnn.training.collapse import CollapseMonitor
    from revgnn.training.compile_monitor import CompileMonitor
    from revgnn.training.early_stopping import EarlyStopping
    from revgnn.training.log import JsonlLog
    from revgnn.training.memory_monitor import MemoryMonitor
    from revgnn.training.progress import Progress

    out: list[Callback] = [
        BestWeights(cfg.select_on),
        MemoryMonitor(cfg.memory_every),
        CompileMonitor(),
        Progress(cfg.progress),
    ]
    if cfg.checkpoint is not None:
        out.append(Checkpointer(cfg.checkpoint, cfg.checkpoint_every))
    if cfg.patience is not None:
        out.append(EarlyStopping(cfg.patience, cfg.select_on))
    if cfg.collapse_patience > 0:
        out.append(CollapseMonitor(cfg.collapse_patience))
    if cfg.log_path is not None:
        out.append(JsonlLog(cfg.log_path))
    return out


def train(
    model: nn.Module,
    task: Task | NodeDataset | Data | Dataset,
    config: TrainConfig | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``model`` on ``task``; return the best-valid scores (weights left loaded).

    Args:
        model (nn.Module): The model the task calls (node tasks: ``forward(x, edge_index[,
            edge_attr])`` returning logits :math:`(n, C)`); optional hooks
            ``epoch_start(epoch)`` and ``log_metrics() -> dict``.
        task (Task, NodeDataset or Data): What to learn; a dataset, or a PyG ``Data`` with
            its ``train_mask`` / ``val_mask`` / ``test_mask`` (:func:`revgnn.datasets.from_data`),
            or a PyG dataset of one graph (``Planetoid(root, "Cora")``), is a full-batch
            :class:`~revgnn.training.NodeTask` (validated: NaN features or an edge index
            outside the graph are a ``ValueError``).
        config (TrainConfig, optional): Settings; the library's defaults when ``None``.
        callbacks (list of Callback): Added to :func:`default_callbacks`.

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
    cfg = config or TrainConfig()
    loop = Loop(model, NodeTask.of(task), cfg, [*default_callbacks(cfg), *callbacks])
    return loop.fit()
