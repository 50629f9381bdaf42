import pytest

from revgnn.config import OptimConfig


def test_unused_follow_the_optimiser_and_the_schedule():
    adam = OptimConfig().unused()
    assert adam["momentum"].startswith("--optimizer adam")
    assert {"lr_min", "lr_step", "lr_gamma"} <= set(adam)
    cosine = OptimConfig(optimizer="sgd", scheduler="cosine").unused()
    assert "momentum" not in cosine and "lr_min" not in cosine and "lr_step" in cosine
    assert "weight_decay_on" in OptimConfig(weight_decay=0.0).unused()


def test_values_are_checked():
    assert OptimConfig(weight_decay_on=("a", "b")).weight_decay_on == "a,b"
    with pytest.raises(ValueError, match="patience=0 must be at least 1"):
        OptimConfig(patience=0)
    with pytest.raises(ValueError, match=r"lr_min=1.0 must not exceed lr=0.01"):
        OptimConfig(lr_min=1.0)
