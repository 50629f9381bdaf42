"""What a training run returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["TrainResult"]


@dataclass
class TrainResult:
    """Outcome of :func:`~revgnn.train`: scores of the best-valid epoch and the run's cost.

    ``resumed_from`` is the epoch of the checkpoint the run continued from (``0``: it started
    fresh). ``peak_bytes`` is the peak of live tensors of a training step (on CPU measured in
    the profiled epochs), ``peak_rss_bytes`` the process's peak RSS before the first profiled
    epoch (after its profiled steps, before the profiler's records are processed, when that
    was the first epoch the process trained).
    ``epochs_run`` is the last epoch trained (below ``epochs`` when the run stopped early,
    ``stopped`` saying why). ``compilations`` / ``compile_seconds`` count the kernels this run
    compiled (:mod:`revgnn.utils.compile`), ``recompilations`` those after its first epoch
    other than its first evaluation's (0 when every batch shape reused the first kernels).
    ``history`` holds the epoch records of this process (the log file holds them all).
    """

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
    resumed_from: int = 0
    epochs_run: int = 0
    stopped: str = ""
    history: list[dict[str, Any]] = field(default_factory=list, repr=False)
    compilations: int = 0
    compile_seconds: float = 0.0
    recompilations: int = 0

    def as_dict(self, history: bool = False) -> dict[str, Any]:
        out = asdict(self)
        if not history:
            out.pop("history")
        return out
