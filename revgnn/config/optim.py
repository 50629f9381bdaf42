"""How a model is optimised: the optimisation recipe of a training run."""

from __future__ import annotations

from dataclasses import dataclass

from revgnn.config.fields import AUTO, setting, validate

__all__ = ["OPTIMIZERS", "SCHEDULERS", "SELECT_ON", "OptimConfig", "check_select_on"]

OPTIMIZERS = ("adam", "sgd")
SCHEDULERS = ("cosine", "step")
#: What selects a run's weights and stops it early: the validation metric or loss.
SELECT_ON = ("metric", "loss")


def check_select_on(select_on: str) -> None:
    """Refuse a ``select_on`` outside :data:`SELECT_ON` (the callbacks that read it)."""
    if select_on not in SELECT_ON:
        raise ValueError(f"select_on={select_on!r} must be one of {', '.join(SELECT_ON)}")


_PROB = {"low": 0.0, "high": 1.0, "high_open": True}


@dataclass(frozen=True)
class OptimConfig:
    """The optimisation recipe: optimiser, schedule, regularisation, epochs, precision.

    ``weight_decay_on`` names the submodules whose parameters get the weight decay
    (``"encoder.node"``: the first layer only, as GCN does; ``""``: every parameter);
    ``"auto"``: every parameter from :data:`~revgnn.config.model.DEEP` layers on, the input
    encoder below (:func:`revgnn.config.adapt.adapt`). ``block_weight_decay`` replaces the
    weight decay on the model's blocks; ``"auto"``: GCNII's 0.01 on blocks of its
    identity-mapped convs, none for other convs (:func:`revgnn.config.adapt.block_decay_rule`).
    ``patience`` stops a run after that many evaluations without a better validation score
    (``None``: never).
    """

    epochs: int = setting(1000, "epochs to train (at most: see --patience)", low=1)
    lr: float = setting(0.01, "learning rate", low=0.0, low_open=True)
    weight_decay: float = setting(5e-4, "L2 weight decay", low=0.0)
    weight_decay_on: str = setting(
        AUTO,
        "comma-separated submodules that get weight decay ('': all parameters; auto: the "
        "input encoder below 16 layers, all from 16 on)",
    )
    block_weight_decay: float | str | None = setting(
        AUTO,
        "weight decay of the model's blocks (its layers), --weight-decay elsewhere (auto: "
        "GCNII's 0.01 on blocks of gcnii convs, none for other convs; none: --weight-decay "
        "everywhere)",
        low=0.0,
    )
    grad_clip: float | None = setting(1.0, "max gradient norm (none: no clipping)", low=0.0,
                                      low_open=True)  # fmt: skip
    optimizer: str = setting("adam", "adam or sgd", choices=OPTIMIZERS)
    momentum: float = setting(0.9, "SGD's momentum", **_PROB)
    scheduler: str | None = setting(None, "learning-rate schedule per epoch: cosine, step, none",
                                    choices=SCHEDULERS)  # fmt: skip
    lr_min: float = setting(0.0, "the cosine schedule's final rate", low=0.0)
    lr_step: int = setting(20, "the step schedule's period in epochs", low=1)
    lr_gamma: float = setting(0.5, "the step schedule's factor", low=0.0, high=1.0, low_open=True)
    label_smoothing: float = setting(0.0, "label smoothing", **_PROB)
    amp: str | None = setting(
        None, "autocast precision: bf16, fp16, none", choices=("bf16", "fp16")
    )
    patience: int | None = setting(100, "early stopping: evaluations without a better "
                                   "validation score (none: never)", low=1)  # fmt: skip
    select_on: str = setting(
        "metric", "the validation figure that selects the weights and stops early: the metric, "
        "or the loss (GCNII's protocol; node and graph tasks)", choices=SELECT_ON,
    )  # fmt: skip

    def __post_init__(self) -> None:
        if isinstance(self.weight_decay_on, (list, tuple)):  # a list of submodule names
            object.__setattr__(self, "weight_decay_on", ",".join(self.weight_decay_on))
        validate(self)
        if not self.lr_min <= self.lr:
            raise ValueError(f"lr_min={self.lr_min} must not exceed lr={self.lr}")

    def unused(self) -> dict[str, str]:
        """The settings this recipe does not use, and why (setting one is an error)."""
        out = {}
        scheduler = self.scheduler or "none"
        if self.optimizer != "sgd":
            out["momentum"] = f"--optimizer {self.optimizer} (only SGD has a momentum)"
        if self.scheduler != "cosine":
            out["lr_min"] = f"--scheduler {scheduler} (only the cosine schedule has a final rate)"
        if self.scheduler != "step":
            why = f"--scheduler {scheduler} (only the step schedule has it)"
            out.update(lr_step=why, lr_gamma=why)
        if self.weight_decay == 0:
            out["weight_decay_on"] = "--weight-decay 0 (there is no weight decay to place)"
        return out
