"""The benchmark scripts keep what they measured when the plot extra is missing."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
        "--channels", "8", "--layers", "2", "--impls", "revgnn", "revgnn_groupaddrev",
        "--steps", "1", "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-c", NO_MATPLOTLIB, *argv], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "no plot: matplotlib is not installed" in proc.stdout
    records = json.loads(out.read_text())
    assert [r["impl"] for r in records] == ["revgnn", "revgnn_groupaddrev"]
    assert all(r["saved_bytes"] > 0 and r["peak_bytes"] > 0 for r in records)
    assert not out.with_suffix(".png").exists()


def test_point_cloud_depth_compares_the_backbones_and_writes_the_summary(tmp_path):
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
    impls = ("resgcn", "rev-resgcn", "rev-resgcn-keep")
    assert {(r["impl"], r["layers"]) for r in result["records"]} == {
        (impl, depth) for impl in impls for depth in (3, 5)
    }
    assert all(0 <= r["knn_share"] <= 1 and r["peak_bytes"] > 0 for r in result["records"])
    kept = [r["index_bytes_per_block"] for r in result["records"] if r["impl"] == impls[2]]
    assert kept == [2 * 1 * 64 * 4 * 2] * 2  # groups x clouds x points x k x int16
    for impl in impls[1:]:
        assert set(result["summary"][f"{impl}_over_plain_step"]) == {"3", "5"}


def _run(script: str, argv: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_aggregation_speed_alternates_implementations_and_reports_ratios_and_bounds(tmp_path):
    out = tmp_path / "as.json"
    _run("aggregation_speed.py", [
        "--nodes", "300", "--edges", "3000", "--channels", "8", "--aggrs", "softmax",
        "--impls", "revgnn", "scatter-sum", "pyg", "--threads", "1", "--rounds", "1", "--reps",
        "1", "--step",
        "--step-layers", "2", "--device", "cpu", "--json", str(out),
    ])  # fmt: skip
    result = json.loads(out.read_text())
    (row,) = result["conv"]
    assert row["aggr"] == "softmax" and set(row["seconds"]) == {"revgnn", "scatter-sum", "pyg"}
    assert row["ratios"]["revgnn/scatter-sum"]["median"] > 0
    assert row["ratios"]["revgnn/pyg"]["min"] <= row["ratios"]["revgnn/pyg"]["median"]
    assert row["bound_seconds"] > 0 and row["over_bound"]["revgnn"] > 0
    # Bytes moved over time, against the measured copy bandwidth (a GPU adds its nominal peak).
    achieved = row["achieved_bandwidth"]["revgnn"]
    copy_bw = result["bounds"]["1"]["bandwidth"]
    assert row["fraction_of_copy_bandwidth"]["revgnn"] == pytest.approx(achieved / copy_bw)
    assert set(result["step"]["ratios"]) == {
        "revgnn/revgnn-eager",
        "revgnn-unsorted/revgnn-eager",
    }


def test_main_job_speed_times_the_main_job_against_pyg_gcnii(tmp_path):
    out = tmp_path / "mj.json"
    proc = _run("main_job_speed.py", [
        "--layers", "2", "--threads", "1", "--rounds", "1", "--epochs", "1", "--warmup", "0",
        "--stop-epoch", "100", "--target-seconds", "30", "--main-job-runs", "1",
        "--json", str(out),
    ])  # fmt: skip
    run = json.loads(out.read_text())["threads"]["1"]
    epochs = run["epoch_seconds"]
    assert set(epochs) == {"revgnn", "revgnn-plain", "pyg-gcnii"}
    assert all(0 < e["min"] <= e["median"] <= e["max"] for e in epochs.values())
    assert set(run["ratios"]) == {"revgnn/pyg-gcnii", "revgnn-plain/pyg-gcnii"}
    assert run["compile_seconds"] >= 0.0
    estimate = 100 * epochs["revgnn"]["median"] + run["compile_seconds"]
    assert run["main_job_seconds"] == pytest.approx(estimate)
    (job,) = run["main_job_runs"]  # the command itself, at the same depth
    assert job["seconds"] > 0 and job["epochs_run"] >= job["best_epoch"] >= 1
    assert run["main_job_measured_seconds"]["median"] == job["seconds"]
    assert run["target_epoch_seconds"] == pytest.approx(0.3)
    assert run["target_over_pyg_epoch"] == pytest.approx(0.3 / epochs["pyg-gcnii"]["median"])
    assert "the main job's 100 epochs and its compilation" in proc.stdout
    assert "revgnn train --layers 2: " in proc.stdout


def test_search_correlation_reports_kendall_tau_per_method(tmp_path):
    out = tmp_path / "sc.json"
    _run("search_correlation.py", [
        "--searches", "2", "--datasets", "points", "--num-clouds", "40", "--num-points", "32",
        "--k", "4", "--channels", "4", "--warmup", "1", "--eval-channels", "4",
        "--eval-cells", "1", "--eval-epochs-points", "1", "--latency-fractions", "0.2",
        "--latency-searches", "1", "--json", str(out),
    ])  # fmt: skip
    result = json.loads(out.read_text())
    summary = result["summary"]
    assert {"points/darts", "points/sgas-cri1", "points/sgas-cri2"} <= set(summary)
    assert summary["points/sgas-cri2"]["searches"] == 2
    tau = summary["points/darts"]["kendall_tau"]
    assert tau is None or -1 <= tau <= 1
    (lcnas,) = [k for k in summary if k.startswith("lcnas/")]
    assert summary[lcnas]["searches"] == 1 and "measured_latency_ms_mean" in summary[lcnas]


def test_recipe_panel_resumes_its_json_and_takes_graphs_beyond_the_panel(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import recipe_panel

    calls = []

    def fake_revgnn(dataset, root, seed, flags):
        calls.append((dataset, "revgnn", seed, tuple(flags)))
        return {"test": 0.5 + seed / 10, "valid": 0.5, "seconds": 1.0, "peak_bytes": 10 + seed,
                "single_class_evals": seed}  # fmt: skip

    def fake_pyg(config, dataset, root, seed):
        calls.append((dataset, config, seed))
        return {"test": 0.4, "valid": 0.4, "seconds": 2.0}

    monkeypatch.setattr(recipe_panel, "revgnn_run", fake_revgnn)
    monkeypatch.setattr(recipe_panel, "pyg_run", fake_pyg)
    out = tmp_path / "beyond.json"
    argv = ["--root", "DATA", "--datasets", "computers", "cora", "--no-memory",
            "--json", str(out), "--seeds", "0", "1"]  # fmt: skip
    assert recipe_panel.main(argv) == 0
    # GCNII's published recipe exists for Cora and CiteSeer only.
    assert ("computers", "pyg-gcnii", 0) not in calls and ("cora", "pyg-gcnii", 1) in calls
    assert ("computers", "revgnn", 1, ("--layers", "64")) in calls
    assert len(calls) == 2 * (3 + 4)
    summary = json.loads(out.read_text())["summary"]["computers"]["default"]
    assert summary["seeds"] == 2 and summary["test_mean"] == pytest.approx(0.55)
    assert summary["max_single_class_evals"] == 1 and summary["peak_bytes_max"] == 11

    calls.clear()  # a second sitting adds seed 2 and repeats nothing
    assert recipe_panel.main([*argv[:-3], "--seeds", "1", "2"]) == 0
    assert {c[2] for c in calls} == {2}
    assert json.loads(out.read_text())["summary"]["computers"]["default"]["seeds"] == 3
    calls.clear()  # GCNII's protocol runs only where named (the first sitting did not run it)
    assert recipe_panel.main([*argv[:3], "cora", "--configs", "deep64-loss", *argv[5:]]) == 0
    flags = ("--layers", "64", "--select-on", "loss")
    assert calls == [("cora", "revgnn", seed, flags) for seed in (0, 1)]
    assert json.loads(out.read_text())["summary"]["cora"]["deep64-loss"]["seeds"] == 2
    with pytest.raises(SystemExit):
        recipe_panel.main(["--root", "DATA", "--datasets", "ogbn-arxiv", "--json", str(out)])


def test_kendall_tau_matches_known_rankings():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from search_correlation import kendall_tau
    finally:
        sys.path.pop(0)
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == 1 / 3
    assert kendall_tau([1, 1, 1], [1, 2, 3]) is None
    # tau-b with one tie in x: (C - D) / sqrt((C + D + Tx)(C + D + Ty)) = (2 - 0) / sqrt(2 * 3)
    assert abs(kendall_tau([1, 1, 2], [1, 2, 3]) - 2 / 6**0.5) < 1e-12


def test_ogb_scale_rehearses_a_preset_and_replans_its_records(tmp_path):
    from revgnn.datasets import write_ogb_layout

    write_ogb_layout("products", str(tmp_path), num_nodes=300, avg_degree=6.0, seed=2)
    out = tmp_path / "scale.json"
    script = str(ROOT / "benchmarks" / "ogb_scale.py")
    argv = ["--root", str(tmp_path), "--presets", "ogbn-products/revgnn-112", "--steps", "2",
            "--layers", "3", "--eval-budget", "600", "--json", str(out)]  # fmt: skip
    proc = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (rec,) = json.loads(out.read_text())["records"]
    assert (rec["dataset"], rec["preset"], rec["layers"]) == ("ogbn-products", "revgnn-112", 3)
    assert rec["load_from"] == "raw csv.gz" and rec["num_nodes"] == 300
    assert rec["batches_per_epoch"] == 10 and len(rec["step_seconds_each"]) == 2
    assert rec["peak_bytes"] > 0 and rec["planner_params_match"]
    assert abs(rec["planner_error"]) < 1.0
    assert rec["eval_parts_run"] == rec["eval_parts_total"] == 10 and "eval_scores" in rec
    assert rec["checkpoint_bytes"] > 0 and rec["peak_rss_bytes"] >= rec["load_peak_rss_bytes"]
    assert "| ogbn-products | revgnn-112 | 3 | 300 |" in proc.stdout
    # METIS clusters, and --steps 0: the profiled step is the only one, and its time counts.
    cluster = tmp_path / "cluster.json"
    argv[3], argv[5], argv[-1] = "ogbn-products/revgnn-112-cluster", "0", str(cluster)
    proc = subprocess.run([sys.executable, script, *argv], capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    (rec_c,) = json.loads(cluster.read_text())["records"]
    assert rec_c["preset"] == "revgnn-112-cluster" and rec_c["batches_per_epoch"] == 10
    assert (
        rec_c["step_seconds_each"] == []
        and rec_c["step_seconds"] == rec_c["profiled_step_seconds"] > 0
    )
    # --replan makes the predictions again from the stored sizes, measuring nothing.
    data = json.loads(out.read_text())
    data["records"][0]["planned_peak_bytes"] = 0
    out.write_text(json.dumps(data))
    proc = subprocess.run([sys.executable, script, "--replan", str(out)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(out.read_text())["records"][0]["planned_peak_bytes"] == pytest.approx(
        rec["planned_peak_bytes"]
    )


# A worker whose evaluation is stopped: ``save`` raises once the evaluation has started. It runs
# in its own process, as the script's workers do (they set threads and the allocator's policy).
STOPPED_WORKER = """
import json, runpy, sys
scale = runpy.run_path(sys.argv[1])
saved = []
def save(record):
    saved.append(record)
    if record["incomplete"] == "evaluation running":
        raise KeyboardInterrupt
try:
    scale["rehearse"]("ogbn-products/deeper-gcn", sys.argv[2], 1, 600.0, True, 2, save)
except KeyboardInterrupt:
    print(json.dumps(saved))
"""


def test_ogb_scale_keeps_the_steps_of_a_worker_stopped_during_its_evaluation(tmp_path, monkeypatch):
    import argparse
    import runpy

    from revgnn.datasets import write_ogb_layout

    write_ogb_layout("products", str(tmp_path), num_nodes=200, avg_degree=6.0, seed=3)
    script = str(ROOT / "benchmarks" / "ogb_scale.py")
    proc = subprocess.run([sys.executable, "-c", STOPPED_WORKER, script, str(tmp_path)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, during = json.loads(proc.stdout.strip().splitlines()[-1])
    assert before["incomplete"] == "evaluation not reached" and "eval_seconds" not in before
    assert before["step_seconds"] > 0 and before["peak_bytes"] > 0
    assert during["incomplete"] == "evaluation running" and during["eval_parts_run"] == 1
    assert during["eval_seconds"] > 0 and during["step_seconds"] == before["step_seconds"]

    # The parent keeps what a killed worker saved, marked with the error.
    def killed(cmd, **kwargs):
        Path(cmd[cmd.index("--out") + 1]).write_text(json.dumps(during))
        return subprocess.CompletedProcess(cmd, -9, stderr="")

    scale = runpy.run_path(script)
    monkeypatch.setattr(subprocess, "run", killed)
    args = argparse.Namespace(root=str(tmp_path), steps=1, eval_budget=600.0, layers=2)
    rec = scale["run_one"]("ogbn-products/deeper-gcn", args, cold=False)
    assert rec["error"] == "killed by signal 9 (out of memory?)"
    assert rec["step_seconds"] == before["step_seconds"] and rec["incomplete"]
    assert "failed: killed by signal 9 (out of memory?); evaluation running: step" in scale[
        "markdown"
    ]([rec])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a bash script")
def test_gpu_suite_checks_its_steps_and_needs_cuda(tmp_path):
    import torch

    script = str(ROOT / "benchmarks" / "gpu_suite.sh")
    env = {"PATH": "/usr/bin:/bin", "REVGNN_PYTHON": sys.executable}

    def suite(steps: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", script, str(tmp_path)], env={**env, "STEPS": steps},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    bad = suite("cuda_tests speed")
    assert bad.returncode == 2
    assert "unknown step speed (steps: cuda_tests aggregation_speed" in bad.stderr
    if not torch.cuda.is_available():
        none = suite("cuda_tests")
        assert none.returncode == 2 and "no CUDA device visible to torch" in none.stderr
