"""What the benchmark scripts share: one measured training step in a worker process, the
driver that runs each configuration in a fresh one, and the plot guard. The PyG peers are
defined once, in :mod:`revgnn.memory.baselines`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def save_plot(draw: Callable[..., None], *args, **kwargs) -> None:
    """``draw(*args, **kwargs)`` with matplotlib, or one line saying why there is no plot (the
    measurements are written before: a missing plot extra loses nothing)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("no plot: matplotlib is not installed (pip install 'revgnn[plot]')", flush=True)
        return
    draw(*args, **kwargs)


def revgnn_train(argv: list[str]) -> dict:
    """``revgnn train ARGV --json F`` in this process: its record, as a leaderboard summary
    (``runs``, ``test_mean`` / ``test_std``, ``per_run``, ...) also when ``--runs 1``."""
    import tempfile

    from revgnn.cli import main as revgnn

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        if revgnn(["train", *argv, "--no-progress", "--no-compare", "--json", str(out)]) != 0:
            raise SystemExit(f"revgnn train {' '.join(argv)} failed")
        record = json.loads(out.read_text())
    if "per_run" in record:
        return record
    single = {k: v for k, v in record.items() if k not in ("recipe", "split", "metric")}
    return {
        "runs": 1,
        "metric": record["metric"],
        "split": record["split"],
        "recipe": record["recipe"],
        "test_mean": record["test_metric"],
        "test_std": 0.0,
        "valid_mean": record["valid_metric"],
        "valid_std": 0.0,
        "num_params": record["num_params"],
        "peak_bytes": record["peak_bytes"],
        "seconds_mean": record["seconds"],
        "per_run": [single],
    }


def measure_step(build: Callable[[], object], args: argparse.Namespace) -> dict:
    """Build the model on the synthetic graph of ``args`` and measure one training step.

    Prints the saved bytes, step time and peak RSS as a JSON line *before* the profiled step, so
    that a process killed by the profiler's own memory still reports them, then returns the
    full record. RSS is read before profiling because the profiler's event records grow with
    the number of ops (gigabytes at 1001 layers); see :func:`revgnn.memory.mmap_large_blocks`.
    """
    import torch
    import torch.nn.functional as F

    from revgnn.memory import (
        measure_peak,
        mmap_large_blocks,
        peak_rss_bytes,
        saved_activation_bytes,
    )

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    n, num_edges = args.nodes, args.nodes * args.degree
    x = torch.randn(n, args.channels, device=device)
    edge_index = torch.randint(0, n, (2, num_edges), device=device)
    y = torch.randint(0, args.classes, (n,), device=device)
    model = build().to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x, edge_index), y)
        loss.backward()
        opt.step()
        return loss.detach()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    out, saved = saved_activation_bytes(lambda: model(x, edge_index), exclude=[model])
    del out
    step()  # warm-up: Adam state exists from here on, as in every later step
    times = []
    for _ in range(args.steps):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    record = {
        "impl": args.impl,
        "layers": args.num_layers,
        "saved_bytes": saved.total,
        "step_seconds": sorted(times)[len(times) // 2] if times else None,
        "peak_rss_bytes": peak_rss_bytes(),
        "num_params": sum(p.numel() for p in model.parameters()),
        "device": device.type,
    }
    print(json.dumps(record), flush=True)
    if device.type == "cpu":
        mmap_large_blocks()
    _, peak = measure_peak(step, device)
    record["peak_bytes"] = peak.peak_bytes
    return record


def spread(values: list[float]) -> dict:
    """The median of repeated measurements, with their range."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def json_worker(cmd: list[str], threads: int, what: str, **env: str) -> dict:
    """Run ``cmd`` in a fresh process on ``threads`` OpenMP threads (plus the variables of
    ``env``) and return the JSON object of its last output line; a failure raises, naming
    ``what``, with the end of its error output."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **env)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{what}: {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


#: The figures of a record, None where a failed worker did not reach them.
MEASURED = ("saved_bytes", "step_seconds", "peak_rss_bytes", "num_params", "peak_bytes")

# The options of both scripts that every worker process needs.
WORKER_FLAGS = ("nodes", "degree", "channels", "classes", "dropout", "steps", "seed", "device")


def worker_arguments(args: argparse.Namespace, names: list[str]) -> list[str]:
    """The command-line flags that pass ``names`` of ``args`` on to a worker process."""
    flags = []
    for name in names:
        flags += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return flags


def run_worker(script: str, flags: list[str], impl: str, depth: int, preexec_fn=None) -> dict:
    """Run ``script --worker impl depth`` in a fresh process and return its record.

    A worker that fails keeps what it measured before (its pre-profiling line, if printed),
    with ``error`` saying why and the figures it did not reach set to None.
    """
    cmd = [sys.executable, script, *flags, "--worker", impl, str(depth)]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=preexec_fn)
    lines = [line for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    if proc.returncode == 0:
        return json.loads(lines[-1])
    reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    reason = reason or f"exit status {proc.returncode}"
    print(f"{impl} at {depth} layers failed: {reason}", flush=True)
    record = dict.fromkeys(MEASURED)
    record.update(impl=impl, layers=depth)
    if lines:
        record.update(json.loads(lines[-1]))
    record["error"] = reason
    return record


def write_records(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=1) + "\n")


TABLE_HEADER = (
    f"{'impl':<20}{'layers':>7}{'saved MiB':>11}{'peak MiB':>10}{'RSS MiB':>9}{'step s':>9}"
)


def table_row(record: dict) -> str:
    """One line of the printed summary; ``-`` where a figure was not measured."""

    def fmt(value, scale: float, width: int, digits: int) -> str:
        return f"{'-':>{width}}" if value is None else f"{value / scale:>{width}.{digits}f}"

    return (
        f"{record['impl']:<20}{record['layers']:>7}{fmt(record['saved_bytes'], 2**20, 11, 2)}"
        f"{fmt(record['peak_bytes'], 2**20, 10, 1)}{fmt(record['peak_rss_bytes'], 2**20, 9, 0)}"
        f"{fmt(record['step_seconds'], 1, 9, 3)}"
        + (f"  failed: {record['error']}" if record.get("error") else "")
    )


def address_space_limit(gigabytes: float | None):
    """A ``preexec_fn`` capping the worker's address space, so that a configuration that needs
    more fails with an out-of-memory error instead of taking the machine down."""
    if gigabytes is None:
        return None

    def apply() -> None:
        import resource

        limit = int(gigabytes * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()
