"""How a training run is carried out: seeds, device, evaluation, checkpoints, logs."""

from __future__ import annotations

from dataclasses import dataclass

from revgnn.config.fields import MAX_SEED, setting, validate

__all__ = ["RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    """The settings of a run that do not change what is learned (except the seed).

    ``device="auto"`` is CUDA when torch sees a GPU, else the CPU. Checkpoints are written
    atomically every ``checkpoint_every`` epochs and at the end; ``resume`` continues from
    ``checkpoint`` (which must exist unless ``missing_ok``); a run that does not resume never
    replaces an existing checkpoint unless ``overwrite``.
    """

    seed: int = setting(0, "seed of the run (weights, dropout, batches)", low=0, high=MAX_SEED)
    runs: int = setting(1, "seeds for a leaderboard entry (seed, seed + 1, ...)", low=1)
    device: str = setting("auto", "cpu, cuda, cuda:1, ... (auto: cuda when available)")
    threads: int = setting(0, "torch CPU threads (0: torch's choice)", low=0)
    eval_every: int = setting(1, "evaluate every this many epochs (and after the last)", low=1)
    checkpoint: str | None = setting(None, "checkpoint file (written atomically)", path=True)
    checkpoint_every: int = setting(10, "epochs between checkpoints", low=1)
    resume: bool = setting(False, "continue from --checkpoint")
    missing_ok: bool = setting(
        False, "with --resume: start fresh when there is no checkpoint yet",
        flag="resume-if-exists",
    )  # fmt: skip
    overwrite: bool = setting(False, "replace existing output files (checkpoint, log, json)")
    log_path: str | None = setting(None, "JSONL file, one line per epoch", flag="log", path=True)
    progress: bool = setting(True, "progress bar (--no-progress: one line per evaluation)")
    memory_every: int = setting(0, "CPU peak profiling period in epochs (0: the last only)", low=0)
    collapse_patience: int = setting(
        5,
        "evaluations predicting one class (after epoch 10) before the run reacts (0: never)",
        low=0,
    )

    def __post_init__(self) -> None:
        validate(self)
        if self.missing_ok and not self.resume:
            object.__setattr__(self, "resume", True)  # --resume-if-exists implies --resume
        if self.resume and self.checkpoint is None:
            raise ValueError(
                "resume=True needs checkpoint= (--checkpoint), the file to resume from"
            )
