"""Checkpoints of a run and resuming from them: a killed run ends as an uninterrupted one."""

from __future__ import annotations

import os.path as osp
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from revgnn.config.fields import settings_of
from revgnn.config.optim import OptimConfig
from revgnn.config.run import RunConfig
from revgnn.training.callback import Callback
from revgnn.training.checkpoint import (
    CheckpointError,
    check_model_state,
    load_checkpoint,
    save_checkpoint,
)
from revgnn.training.optimizers import block_decay, decay_targets
from revgnn.training.seed import get_global_rng_state, set_global_rng_state
from revgnn.utils.paths import check_output

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["MUST_MATCH", "Checkpointer"]

#: Settings a resumed run must share with the run that wrote its checkpoint: they decide what
#: is learned from the checkpoint's state on. The others may change on resume (``epochs``
#: continues a finished run further, unless the cosine schedule's length depends on it;
#: ``patience``, the device, the evaluation and checkpoint periods, the outputs).
MUST_MATCH = (
    "lr", "weight_decay", "weight_decay_on", "block_weight_decay", "grad_clip", "optimizer",
    "momentum", "scheduler", "lr_min", "lr_step", "lr_gamma", "label_smoothing", "amp", "seed",
    "select_on",
)  # fmt: skip
_FLAGS = {s.name: s.flag for cls in (OptimConfig, RunConfig) for s in settings_of(cls)}


#: Settings with an ``"auto"`` value, and what it resolves to for a model: ``auto`` and its
#: value for the same model are the same setting.
_RESOLVE = {"weight_decay_on": decay_targets, "block_weight_decay": block_decay}


def _conflicts(saved: dict[str, Any], cfg: Any, model: Any) -> list[tuple[str, Any, Any]]:
    names = list(MUST_MATCH) + (["epochs"] if cfg.scheduler == "cosine" else [])

    def value(name: str, v: Any) -> Any:
        return _RESOLVE[name](model, v) if name in _RESOLVE else v

    return [
        (n, saved[n], getattr(cfg, n))
        for n in names
        if n in saved and value(n, saved[n]) != value(n, getattr(cfg, n))
    ]


def _text(value: Any) -> str:
    return "none" if value is None else str(value)


class Checkpointer(Callback):
    """Writes the run's state (model, optimisers, scaler, schedules, every RNG state, the
    loop's figures, every callback's and the task's state, and the settings) atomically to
    ``path`` every ``every`` epochs and at the end (read with ``weights_only=True``); with
    ``resume`` continues a run from it, on CPU ending with exactly the metrics of an
    uninterrupted run.

    A run that does not resume never replaces an existing checkpoint (unless its settings
    say ``overwrite``). A resumed run must have the checkpoint's settings where they decide
    what is learned (:data:`MUST_MATCH`): a conflict is refused with one line naming the
    flags, so the run's record never claims settings that did not run.

    Args:
        path (str): The checkpoint file.
        every (int): Epochs between checkpoints.
    """

    order = 0

    def __init__(self, path: str, every: int = 10) -> None:
        self.path = path
        self.every = every
        #: The epoch the file holds for this run (``None``: none written or resumed yet).
        self.saved_epoch: int | None = None

    def on_fit_start(self, loop: Loop) -> None:
        cfg = loop.cfg
        if not cfg.resume or (cfg.missing_ok and not osp.exists(self.path)):
            if cfg.resume:
                loop.say(f"checkpoint {self.path}: none yet, starting a new run")
                return
            if osp.exists(self.path) and not osp.isdir(self.path) and not cfg.overwrite:
                raise CheckpointError(
                    f"checkpoint {self.path} exists and this run does not resume from it: pass "
                    "--resume to continue that run, --overwrite to replace it, or another "
                    "--checkpoint"
                )
            check_output(self.path, "--checkpoint", overwrite=True)
            loop.say(f"checkpoint {self.path}: new run (written every {self.every} epochs)")
            return
        if not osp.exists(self.path):
            raise CheckpointError(
                f"checkpoint {self.path} does not exist, so there is nothing to resume: check "
                "the path, or pass --resume-if-exists to start fresh when there is none"
            )
        self.restore(loop, load_checkpoint(self.path, loop.device))

    def restore(self, loop: Loop, ckpt: dict[str, Any]) -> None:
        """Put the run back in the state ``ckpt`` holds."""
        # The data and the model first: settings derived from them (weight_decay_on)
        # differ when they do.
        if ckpt.get("task") not in (None, repr(loop.task)):
            raise CheckpointError(
                f"checkpoint {self.path} was written for the task {ckpt['task']}, this run's is "
                f"{loop.task!r}: resume with the data settings of the run that wrote it"
            )
        check_model_state(loop.model, ckpt["model"], self.path, ckpt.get("model_repr"))
        saved = ckpt.get("config", {})
        conflicts = _conflicts(saved, loop.cfg, loop.model)
        if conflicts:
            there = " ".join(f"--{_FLAGS[n]} {_text(old)}" for n, old, _ in conflicts)
            here = " ".join(f"--{_FLAGS[n]} {_text(new)}" for n, _, new in conflicts)
            raise CheckpointError(
                f"checkpoint {self.path} was written with {there}; this run has {here}: resume "
                "with the settings of the run that wrote it, or start a new run (--overwrite, "
                "or another --checkpoint)"
            )
        loop.model.load_state_dict(ckpt["model"])
        try:
            loop.optimizers.load_state_dict(ckpt["optimizers"])
            loop.scaler.load_state_dict(ckpt["scaler"])
        except (ValueError, KeyError) as e:
            raise CheckpointError(
                f"checkpoint {self.path} holds an optimiser state this run cannot use ({e}); "
                "resume with the settings of the run that wrote it"
            ) from None
        set_global_rng_state(ckpt["rng"])
        for cb in loop.callbacks:
            state = ckpt["callbacks"].get(type(cb).__name__)
            if state is not None:
                cb.load_state_dict(state)
        if ckpt.get("task_state") is not None:
            loop.task.load_state_dict(ckpt["task_state"])
        loop.best, loop.elapsed = ckpt["best"], ckpt["seconds"]
        loop.peak_bytes, loop.final_loss = ckpt["peak_bytes"], ckpt["final_loss"]
        loop.start, loop.resumed_from = ckpt["epoch"] + 1, ckpt["epoch"]
        loop.epochs_run = self.saved_epoch = ckpt["epoch"]
        left = "nothing left to train" if loop.start > loop.cfg.epochs else "continuing"
        loop.say(
            f"checkpoint {self.path}: resumed at epoch {ckpt['epoch']} of {loop.cfg.epochs} "
            f"({left})"
        )

    def on_checkpoint(self, loop: Loop, epoch: int) -> None:
        last = epoch == loop.cfg.epochs or loop.should_stop
        if loop.main and (epoch % self.every == 0 or last):
            save_checkpoint(self.state(loop, epoch), self.path)
            self.saved_epoch = epoch

    def state(self, loop: Loop, epoch: int) -> dict[str, Any]:
        """Everything :meth:`restore` needs."""
        callbacks = {type(cb).__name__: cb.state_dict() for cb in loop.callbacks}
        return {
            "epoch": epoch,
            "model": loop.model.state_dict(),
            "model_repr": repr(loop.model),
            "task": repr(loop.task),
            "task_state": loop.task.state_dict(),
            "optimizers": loop.optimizers.state_dict(),
            "scaler": loop.scaler.state_dict(),
            "rng": get_global_rng_state(),
            "callbacks": {k: v for k, v in callbacks.items() if v is not None},
            "best": loop.best,
            "seconds": loop.elapsed,
            "peak_bytes": loop.peak_bytes,
            "final_loss": loop.final_loss,
            "config": {f.name: getattr(loop.cfg, f.name) for f in fields(loop.cfg)},
        }

    def __repr__(self) -> str:
        return f"Checkpointer({self.path!r}, every={self.every})"
