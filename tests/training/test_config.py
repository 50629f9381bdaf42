import pytest

from revgnn.training import TrainConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"amp": "fp8"}, "amp='fp8' must be None, 'bf16' or 'fp16'"),
        ({"resume": True}, "resume=True needs checkpoint="),
        ({"missing_ok": True}, "missing_ok=True applies with resume=True only"),
        ({"epochs": 0}, "epochs=0 must be at least 1"),
        ({"lr": -1.0}, "lr=-1.0 must be a positive learning rate"),
        ({"lr": float("nan")}, "lr=nan must be a positive learning rate"),
        ({"weight_decay": -0.1}, "weight_decay=-0.1 must be >= 0"),
        ({"grad_clip": 0.0}, "grad_clip=0.0 must be > 0, or None"),
        ({"label_smoothing": 1.0}, r"label_smoothing=1.0 must lie in \[0, 1\)"),
        ({"eval_every": 0}, "eval_every=0 must be at least 1"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_defaults():
    cfg = TrainConfig(weight_decay_on=["encoder.node"])
    assert cfg.weight_decay_on == ("encoder.node",) and cfg.grad_clip == 1.0 and not cfg.resume


def test_optimiser_and_schedule_settings_are_checked():
    with pytest.raises(ValueError, match="optimizer='rmsprop' must be one of adam, sgd"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="scheduler='linear' must be None or one of cosine, step"):
        TrainConfig(scheduler="linear")
    with pytest.raises(ValueError, match=r"lr_min=0.5 must lie in \[0, lr=0.01\]"):
        TrainConfig(scheduler="cosine", lr_min=0.5)
    with pytest.raises(ValueError, match="lr_gamma=0 in"):
        TrainConfig(scheduler="step", lr_gamma=0)
    with pytest.raises(ValueError, match=r"momentum=1.0 must lie in \[0, 1\)"):
        TrainConfig(optimizer="sgd", momentum=1.0)
