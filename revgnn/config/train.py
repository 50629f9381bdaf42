"""The settings of one call of the training loop: the optimisation recipe and the run."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from revgnn.config.optim import OptimConfig
from revgnn.config.run import RunConfig

__all__ = ["TrainConfig"]


@dataclass(frozen=True)
class TrainConfig(OptimConfig, RunConfig):
    """Every setting :func:`revgnn.train` reads: the fields of :class:`OptimConfig` and of
    :class:`RunConfig` side by side (their defaults, in one place), e.g.
    ``TrainConfig(epochs=50, lr=1e-3, checkpoint="run.pt")``."""

    def __post_init__(self) -> None:
        OptimConfig.__post_init__(self)
        RunConfig.__post_init__(self)

    @classmethod
    def of(cls, optim: OptimConfig, run: RunConfig | None = None, **changes: Any) -> TrainConfig:
        """The training settings of an optimisation recipe and a run."""
        values = {f.name: getattr(optim, f.name) for f in fields(OptimConfig)}
        run = run or RunConfig()
        values.update({f.name: getattr(run, f.name) for f in fields(RunConfig)})
        values.update(changes)
        return cls(**values)

    @property
    def optim(self) -> OptimConfig:
        return OptimConfig(**{f.name: getattr(self, f.name) for f in fields(OptimConfig)})

    @property
    def run(self) -> RunConfig:
        return RunConfig(**{f.name: getattr(self, f.name) for f in fields(RunConfig)})

    def with_(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)
