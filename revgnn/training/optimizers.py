"""The optimisers of a run: Adam or SGD with weight-decay groups, and the schedules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from revgnn.config.adapt import block_decay_rule, weight_decay_targets
from revgnn.config.fields import AUTO
from revgnn.config.optim import OptimConfig

__all__ = [
    "Optimizers", "block_decay", "decay_targets", "make_optimizer", "make_scheduler",
    "model_blocks", "param_groups",
]  # fmt: skip


def decay_targets(model: nn.Module, decay_on: str) -> str:
    """``decay_on`` with ``"auto"`` resolved for ``model``
    (:func:`~revgnn.config.adapt.weight_decay_targets` of its depth and input encoder, found
    at any depth of the module tree: a graph-level wrapper's ``model.encoder.node``)."""
    if decay_on != AUTO:
        return decay_on
    encoders = [n for n, _ in model.named_modules() if n.split(".")[-2:] == ["encoder", "node"]]
    depth = next(
        (m.num_layers for m in model.modules() if isinstance(getattr(m, "num_layers", None), int)),
        None,
    )
    target = weight_decay_targets(depth, bool(encoders))
    return encoders[0] if target and encoders else target


def model_blocks(model: nn.Module) -> nn.Module | None:
    """The model's blocks: its outermost submodule named ``layers``, at any depth of the module
    tree (a DDP or graph-level wrapper's ``.layers``), or ``None``."""
    modules = dict(model.named_modules())
    found = sorted((n for n in modules if n.split(".")[-1] == "layers"), key=lambda n: n.count("."))
    return modules[found[0]] if found else None


def block_decay(model: nn.Module, block_weight_decay: float | str | None) -> float | None:
    """``block_weight_decay`` with ``"auto"`` resolved for ``model``
    (:func:`~revgnn.config.adapt.block_decay_rule` of its blocks)."""
    if block_weight_decay != AUTO:
        return block_weight_decay  # type: ignore[return-value]
    return block_decay_rule(model_blocks(model))


def param_groups(
    model: nn.Module,
    weight_decay: float,
    decay_on: str,
    block_weight_decay: float | str | None = None,
) -> list[dict[str, Any]]:
    """Parameter groups with weight decay on the submodules ``decay_on`` (comma-separated
    names; ``""``: every parameter; ``"auto"``: :func:`decay_targets`), and
    ``block_weight_decay`` (if not ``None``; ``"auto"``: :func:`block_decay`) on the model's
    blocks (:func:`model_blocks`; GCNII's recipe: a strong decay on the convolutions, a weak
    one on the dense layers)."""
    modules = dict(model.named_modules())
    names = [n for n in decay_targets(model, decay_on).split(",") if n]
    missing = [name for name in names if name not in modules]
    if missing and weight_decay:
        top = ", ".join(n for n, _ in model.named_children())
        raise ValueError(
            f"weight_decay_on={decay_on!r}: the model has no submodule {missing[0]!r} "
            f"(its top-level submodules: {top})"
        )
    block_weight_decay = block_decay(model, block_weight_decay)
    blocks = model_blocks(model) if block_weight_decay is not None else None
    in_blocks = {id(p) for p in blocks.parameters()} if blocks is not None else set()
    if names and weight_decay:
        decayed = {id(p) for name in names for p in modules[name].parameters()}
    else:
        decayed = {id(p) for p in model.parameters()}
    params = [p for p in model.parameters() if id(p) not in in_blocks]
    groups = [
        {"params": [p for p in params if id(p) in decayed], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) not in decayed], "weight_decay": 0.0},
    ]
    if blocks is not None:
        groups.append({"params": list(blocks.parameters()), "weight_decay": block_weight_decay})
    return [g for g in groups if g["params"]] or [{"params": [], "weight_decay": weight_decay}]


def make_optimizer(groups: Any, cfg: OptimConfig) -> torch.optim.Optimizer:
    """``cfg.optimizer`` (Adam, or SGD with ``cfg.momentum``) over ``groups``."""
    # foreach: one call per operation over all parameters instead of one per parameter, the
    # same bits as the loop that torch picks for CPU tensors (Adam, a 64-block model: 8.0 ->
    # 5.5 ms a step on one core).
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, foreach=True)
    return torch.optim.Adam(groups, lr=cfg.lr, foreach=True)


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: OptimConfig
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule of ``cfg.scheduler``, stepped once per epoch."""
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, cfg.epochs, cfg.lr_min)
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, cfg.lr_step, cfg.lr_gamma)
    return None


@dataclass
class Optimizers:
    """A run's optimisers and their schedules, by name (``"weights"``; an architecture search
    adds ``"arch"``); the first is the one whose rate the log reports."""

    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = field(default_factory=dict)

    @property
    def main(self) -> torch.optim.Optimizer:
        return next(iter(self.optimizers.values()))

    def zero_grad(self) -> None:
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)

    def step_schedules(self) -> None:
        for sched in self.schedulers.values():
            sched.step()

    def state_dict(self) -> dict[str, Any]:
        return {
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state["optimizers"]) != set(self.optimizers):
            raise KeyError(f"optimisers {sorted(state['optimizers'])}")
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])

    @classmethod
    def default(cls, model: nn.Module, cfg: OptimConfig) -> Optimizers:
        """One optimiser of ``cfg`` over every parameter, weight decay per
        ``cfg.weight_decay_on``, and its schedule."""
        opt = make_optimizer(
            param_groups(model, cfg.weight_decay, cfg.weight_decay_on, cfg.block_weight_decay), cfg
        )
        sched = make_scheduler(opt, cfg)
        return cls({"weights": opt}, {"weights": sched} if sched is not None else {})
