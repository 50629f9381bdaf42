"""How a GCN cell is searched: SGAS's greedy decisions or DARTS' argmax, LC-NAS's latency
constraint, and the size of the search network. The weights' optimisation is an
:class:`~revgnn.config.OptimConfig` (SGD, cosine, clipping: the recipe ``search/sgas``)."""

from __future__ import annotations

from dataclasses import dataclass

from revgnn.config.fields import setting, validate

__all__ = ["METHODS", "NUM_DECISIONS", "SearchConfig"]

#: Search methods.
METHODS = ("sgas", "darts")
#: Decisions an SGAS search makes: two edges per intermediate node, three nodes.
NUM_DECISIONS = 6


@dataclass(frozen=True)
class SearchConfig:
    """Settings of one search; the defaults are SGAS's (ModelNet / PPI search).

    An SGAS search warms up for ``warmup`` epochs, then decides one edge every
    ``decision_every`` epochs until all six are decided (``warmup + 5 * decision_every``
    epochs); DARTS trains that long (or ``darts_epochs``) and takes the argmax at the end. The
    architecture's Adam has rate ``arch_lr``, betas ``(arch_beta1, arch_beta2)`` and weight
    decay ``arch_weight_decay``; with point clouds the batch grows by ``batch_increase``
    clouds after every decision.
    """

    method: str = setting("sgas", "greedy decisions (sgas) or DARTS' argmax", choices=METHODS)
    criterion: int = setting(2, "SGAS's criterion", choices=(1, 2))
    warmup: int = setting(9, "epochs before the first decision", low=1)
    decision_every: int = setting(7, "epochs between decisions", low=1)
    darts_epochs: int | None = setting(None, "DARTS: epochs (none: as long as SGAS)", low=1)
    arch_lr: float = setting(3e-4, "the architecture's Adam rate", low=0.0, low_open=True)
    arch_beta1: float = setting(0.5, "its first beta", low=0.0, high=1.0, high_open=True)
    arch_beta2: float = setting(0.999, "its second beta", low=0.0, high=1.0, high_open=True)
    arch_weight_decay: float = setting(1e-3, "its weight decay", low=0.0)
    batch_increase: int = setting(0, "clouds added to the batch per decision", low=0)
    latency_target: float | None = setting(None, "LC-NAS: target latency of the cells, ms",
                                           low=0.0, low_open=True)  # fmt: skip
    latency_weight: float = setting(1.0, "LC-NAS: weight of the hinge", low=0.0)
    cells: int = setting(2, "cells of the search network", low=1)
    channels: int = setting(16, "width of a cell's nodes", low=1)
    k: int = setting(9, "neighbours of the point clouds' k-NN graphs", low=1)
    eval_epochs: int = setting(0, "retrain the found cell for this many epochs (0: no)", low=0)
    eval_cells: int = setting(3, "cells of the evaluation network", low=1)
    eval_channels: int = setting(32, "its width", low=1)

    def __post_init__(self) -> None:
        validate(self)
        if self.method == "sgas" and self.darts_epochs is not None:
            raise ValueError(
                f"darts_epochs={self.darts_epochs} is DARTS' budget; an SGAS search lasts "
                "warmup + 5 * decision_every epochs (set warmup and decision_every)"
            )

    @property
    def total_epochs(self) -> int:
        if self.method == "darts" and self.darts_epochs is not None:
            return self.darts_epochs
        return self.warmup + (NUM_DECISIONS - 1) * self.decision_every

    def decides_after(self, epoch: int) -> bool:
        """Whether SGAS decides an edge after ``epoch`` (1-based)."""
        return epoch >= self.warmup and (epoch - self.warmup) % self.decision_every == 0

    def unused(self) -> dict[str, str]:
        out = {}
        if self.method != "sgas":
            for name in ("criterion", "batch_increase"):
                out[name] = "--method darts (it is SGAS's; DARTS takes its argmax at the end)"
        if self.latency_target is None:
            out["latency_weight"] = "a search without --latency-target (it weighs LC-NAS's hinge)"
        if self.eval_epochs == 0:
            for name in ("eval_cells", "eval_channels"):
                out[name] = "--eval-epochs 0 (the evaluation network is not trained)"
        return out
