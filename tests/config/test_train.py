import pytest

from revgnn.config import OptimConfig, RunConfig, TrainConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amp": "fp8"}, r"amp='fp8' must be one of bf16, fp16 \(or none\)"),
        ({"resume": True}, "resume=True needs checkpoint="),
        ({"missing_ok": True}, "resume=True needs checkpoint="),  # it implies resume
        ({"epochs": 0}, "epochs=0 must be at least 1"),
        ({"lr": -1.0}, "lr=-1.0 must be > 0"),
        ({"lr": float("nan")}, "lr=nan is not a number"),
        ({"weight_decay": -0.1}, "weight_decay=-0.1 must be at least 0"),
        ({"grad_clip": 0.0}, "grad_clip=0.0 must be > 0"),
        ({"label_smoothing": 1.0}, r"label_smoothing=1.0 must lie in \[0, 1\)"),
        ({"eval_every": 0}, "eval_every=0 must be at least 1"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_defaults_are_the_optimisation_and_run_configs():
    cfg = TrainConfig(weight_decay_on=["encoder.node"])
    assert cfg.weight_decay_on == "encoder.node" and cfg.grad_clip == 1.0 and not cfg.resume
    assert TrainConfig().optim == OptimConfig() and TrainConfig().run == RunConfig()
    joined = TrainConfig.of(OptimConfig(lr=0.1), RunConfig(seed=3), epochs=5)
    assert (joined.lr, joined.seed, joined.epochs) == (0.1, 3, 5)
    assert TrainConfig(missing_ok=True, checkpoint="c.pt").resume


def test_optimiser_and_schedule_settings_are_checked():
    with pytest.raises(ValueError, match="optimizer='rmsprop' must be one of adam, sgd"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="scheduler='linear' must be one of cosine, step"):
        TrainConfig(scheduler="linear")
    with pytest.raises(ValueError, match=r"lr_min=0.5 must not exceed lr=0.01"):
        TrainConfig(scheduler="cosine", lr_min=0.5)
    with pytest.raises(ValueError, match=r"lr_gamma=0 must lie in \(0, 1\]"):
        TrainConfig(scheduler="step", lr_gamma=0)
    with pytest.raises(ValueError, match=r"momentum=1.0 must lie in \[0, 1\)"):
        TrainConfig(optimizer="sgd", momentum=1.0)
