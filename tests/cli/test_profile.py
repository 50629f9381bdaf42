import json

import pytest
import torch

from revgnn.cli import main
from revgnn.memory.kinds import Config, num_parameters


def test_profile_command_writes_json_and_png(tmp_path, capsys):
    out = tmp_path / "tiny"
    argv = [
        "profile", "--kinds", "RevGNN", "--depths", "2,4", "--widths", "8",
        "--nodes", "40", "--degree", "4", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["meta"]["torch"]
    results = data["results"]
    assert [r["config"]["num_layers"] for r in results] == [2, 4]
    assert {r["config"]["kind"] for r in results} == {"revgnn"}
    for r in results:
        assert r["num_parameters"] == num_parameters(Config.from_dict(r["config"]))
        assert r["peak_bytes"] > r["baseline_bytes"] > 0
        assert r["saved_bytes"] > 0 and r["step_seconds"] > 0 and r["peak_rss_bytes"] > 0
        assert r["predicted_bytes"] > 0
    # Reversible: the forward keeps the same bytes at both depths.
    assert results[0]["saved_bytes"] == results[1]["saved_bytes"]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "RevGNN" in capsys.readouterr().out


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="this machine has MPS")
def test_a_device_this_machine_lacks_is_refused_before_anything_runs(tmp_path, capsys):
    out = tmp_path / "none"
    argv = ["profile", "--device", "mps", "--kinds", "revgnn", "--depths", "2", "--widths", "8",
            "--nodes", "40", "--degree", "4", "--no-progress", "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("revgnn profile: error: device='mps' is not usable") and err.count("\n") == 1
    )
    assert not list(tmp_path.iterdir())
    assert main(["plan", "--check", "--device", "mps", "--memory", "1GB"]) == 2
    assert "revgnn plan: error: device='mps' is not usable" in capsys.readouterr().err
