"""The benchmark scripts keep what they measured when the plot extra is missing."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs a benchmark with matplotlib made unimportable, as in an install without the plot extra.
NO_MATPLOTLIB = """
import os, runpy, sys
sys.modules["matplotlib"] = None
sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(sys.argv[0]))  # as `python benchmarks/<script>.py` has it
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_memory_depth_writes_its_json_and_skips_the_plot_without_matplotlib(tmp_path):
    out = tmp_path / "md.json"
    argv = [
        str(ROOT / "benchmarks" / "memory_depth.py"), "--nodes", "60", "--degree", "4",
        "--channels", "8", "--layers", "2", "--impls", "revgnn", "--steps", "1",
        "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", NO_MATPLOTLIB, *argv], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no plot: matplotlib is not installed" in proc.stdout
    (record,) = json.loads(out.read_text())
    assert record["impl"] == "revgnn" and record["saved_bytes"] > 0
    assert not out.with_suffix(".png").exists()


def test_point_cloud_depth_compares_both_backbones_and_writes_the_summary(tmp_path):
    out = tmp_path / "pc.json"
    argv = [
        str(ROOT / "benchmarks" / "point_cloud_depth.py"), "--batch", "1", "--points", "64",
        "--channels", "8", "--k", "4", "--depths", "3", "5", "--steps", "1", "--device", "cpu",
        "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", NO_MATPLOTLIB, *argv], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert {(r["impl"], r["layers"]) for r in result["records"]} == {
        ("resgcn", 3),
        ("rev-resgcn", 3),
        ("resgcn", 5),
        ("rev-resgcn", 5),
    }
    assert all(0 <= r["knn_share"] <= 1 and r["peak_bytes"] > 0 for r in result["records"])
    assert set(result["summary"]["rev_over_plain_step"]) == {"3", "5"}
