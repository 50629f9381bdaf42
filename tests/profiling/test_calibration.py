import pytest

from revgnn.memory import plan
from revgnn.memory.plan import predict
from revgnn.profiling.calibration import calibration_configs, fit_calibration


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
