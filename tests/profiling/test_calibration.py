import pytest

from revgnn.memory import plan
from revgnn.memory.cuda_workspace import step_workspace_bytes
from revgnn.memory.plan import predict
from revgnn.profiling.calibration import calibration_configs, fit_calibration, fit_errors


def test_fit_calibration_recovers_known_constants(monkeypatch):
    truth = {"N*D": 40.0, "E*D/C": 12.0, "E*D|edge": 8.0, "N*T": 4.0}
    monkeypatch.setattr(plan, "CALIBRATION", {"revgnn/max/fp32": truth})
    configs = calibration_configs("revgnn", "max", None, size=12)
    records = [
        {"config": c.as_dict(), "peak_bytes": predict(c).total + 1000.0 * (i % 3)}
        for i, c in enumerate(configs)
    ]
    fitted = fit_calibration(records)["revgnn/max/fp32"]
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.05)
    assert all(v >= 0 for v in fitted.values())
    # The same step measured on CUDA: its cuBLAS workspaces are not activations.
    on_cuda = [
        {**r, "device": "cuda", "peak_bytes": r["peak_bytes"] + step_workspace_bytes("cuda")}
        for r in records
    ]
    fitted_cuda = fit_calibration(on_cuda)["revgnn/max/fp32"]
    for name, value in truth.items():
        assert fitted_cuda[name] == pytest.approx(value, rel=0.05)
    exact = [
        {"config": c.as_dict(), "device": "cuda",
         "peak_bytes": predict(c).total + step_workspace_bytes("cuda")}
        for c in configs
    ]  # fmt: skip
    assert fit_errors(exact, {"revgnn/max/fp32": truth})["revgnn/max/fp32"] < 1e-9


def test_configs_of_kinds_with_their_own_conv_are_buildable():
    from revgnn.memory.kinds import MODEL_KINDS

    for cfg in calibration_configs("revgat", "max", None, size=10):
        assert cfg.group_channels % MODEL_KINDS["revgat"].channel_multiple == 0
    sage = calibration_configs("revgnn-sage", "max", None, size=10)
    assert all(c.edge_dim is None for c in sage)
    assert plan.calibration_key(sage[0]) == "revgnn-sage/own/fp32"


def test_kinds_with_their_own_conv_are_measured_once(monkeypatch):
    from revgnn.profiling import calibration

    measured = []
    monkeypatch.setattr(
        "revgnn.profiling.profile.profile_config",
        lambda cfg, timed_steps: measured.append(cfg) or {"config": cfg.as_dict()},
    )
    calibration.calibrate(["revgnn-sage", "revgnn"], ["max", "softmax"], [None], size=2,
                          progress=False)  # fmt: skip
    keys = [plan.calibration_key(c) for c in measured]
    assert keys.count("revgnn-sage/own/fp32") == 2
    assert keys.count("revgnn/max/fp32") == 2 and keys.count("revgnn/softmax/fp32") == 2
