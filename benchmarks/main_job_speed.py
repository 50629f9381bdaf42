"""Speed of the main job's epoch against PyG's GCNII of the same depth, in the same run.

The main job is ``revgnn train --layers 64``: the library's default recipe (reversible GCNII
blocks, damped from 32 layers on) on the bundled Cora. Its training time is its epoch time
times the epochs its early stopping runs, and the epoch time depends on the machine as much as
on the code: the same commit measured 222-284 ms an epoch on one 2-core machine and 310-345 ms
on another. This script times, in fresh processes in alternating rounds, one epoch (a training
step and the evaluation, as ``revgnn.train`` runs them) of

* ``revgnn``: the main job's model, built by the library from the recipe;
* ``revgnn-plain``: the same weights run non-reversibly (``reversible=False``: no
  recomputation, every activation kept), what the reversible backward pass costs on top;
* ``pyg-gcnii``: PyG's ``examples/gcn2_cora.py`` network (``GCN2Conv``, 64 channels, dropout
  0.6, one conv per layer) on the same graph and row-normalised features, the yardstick,

and writes the medians, their ratios to PyG's epoch, and what they make of the main job:
``--stop-epoch`` epochs (226: where the main job's early stopping ends with seed 0) plus the
kernels' compilation, against ``--target-seconds`` of training. Then it runs the main job
itself ``--main-job-runs`` times on each thread count (``revgnn train --layers L --threads T``)
and records its training seconds as the command reports them: compilation, the first epoch's
one-time work and the memory-profiled epoch included.

    python benchmarks/main_job_speed.py --threads 1 2 --rounds 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import json_worker, spread

IMPLS = ("revgnn", "revgnn-plain", "pyg-gcnii")
REFERENCE = "pyg-gcnii"


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layers", type=int, default=64)
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20, help="timed epochs per process (median)")
    p.add_argument("--warmup", type=int, default=3, help="untimed epochs first (compilation)")
    p.add_argument("--stop-epoch", type=int, default=226, help="the main job's epochs")
    p.add_argument("--target-seconds", type=float, default=60.0)
    p.add_argument("--main-job-runs", type=int, default=1,
                   help="runs of the main job itself per thread count")  # fmt: skip
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/main_job_speed.json"))
    p.add_argument("--worker", metavar="IMPL", choices=IMPLS, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _timed_epochs(epoch, args) -> list[float]:
    for _ in range(args.warmup):
        epoch()
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - start)
    return times


def revgnn_worker(impl: str, args) -> dict:
    """One epoch of the main job's model: the library's training step and evaluation."""
    from revgnn.config.recipe import Recipe
    from revgnn.training.experiment import prepare
    from revgnn.training.loop import Loop
    from revgnn.utils.compile import compile_stats
    from revgnn.utils.malloc import reuse_freed_memory

    reuse_freed_memory()  # as revgnn.train does on CPU
    recipe = Recipe().with_values({"model.num_layers": args.layers, "run.progress": False})
    exp = prepare(recipe)
    model = exp.build()
    if impl == "revgnn-plain":
        model.reversible = False
    loop = Loop(model, exp.task, exp.train_config, [])
    counter = itertools.count(1)

    def epoch() -> None:
        e = next(counter)
        loop.train_epoch(e)
        loop.evaluate(e, {})

    times = _timed_epochs(epoch, args)
    return {"epoch_seconds": times, "compile_seconds": compile_stats().seconds,
            "num_params": sum(p.numel() for p in model.parameters())}  # fmt: skip


def pyg_worker(args) -> dict:
    """One epoch of PyG's GCNII example on the same graph: a training step and the evaluation
    of every split."""
    import torch
    import torch.nn.functional as F
    from pyg_baselines import GCNII
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.utils import to_torch_csr_tensor

    from revgnn.config.recipe import Recipe
    from revgnn.training.experiment import prepare

    exp = prepare(Recipe().with_values({"run.progress": False}))
    data, split = exp.task.dataset.data, exp.task.dataset.split
    x, n = data.x, data.num_nodes  # row-normalised, as the example's NormalizeFeatures
    ei, w = gcn_norm(data.edge_index, None, n, add_self_loops=True)
    adj_t = to_torch_csr_tensor(ei.flip(0), w, size=(n, n))
    torch.manual_seed(0)
    model = GCNII(x.size(1), int(data.y.max()) + 1, 64, args.layers, 0.5, 0.6)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

    def epoch() -> None:
        model.train()
        optimizer.zero_grad()
        out = model(x, adj_t)
        F.cross_entropy(out[split["train"]], data.y[split["train"]]).backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            pred = model(x, adj_t).argmax(-1)
        for idx in split.values():
            (pred[idx] == data.y[idx]).float().mean().item()

    times = _timed_epochs(epoch, args)
    return {"epoch_seconds": times, "num_params": sum(p.numel() for p in model.parameters())}


def worker(args) -> dict:
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    out = pyg_worker(args) if args.worker == REFERENCE else revgnn_worker(args.worker, args)
    out["epoch_median"] = statistics.median(out["epoch_seconds"])
    return out


def run(impl: str, threads: int, args) -> dict:
    flags = ["--layers", str(args.layers), "--epochs", str(args.epochs),
             "--warmup", str(args.warmup), "--worker", impl]  # fmt: skip
    return json_worker([sys.executable, __file__, *flags], threads, f"{impl} on {threads} threads")


def main_job(threads: int, args) -> dict:
    """One run of ``revgnn train --layers L`` on ``threads`` threads: what the command reports."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "revgnn.cli", "train", "--layers", str(args.layers),
               "--threads", str(threads), "--no-progress", "--no-compare",
               "--json", str(out)]  # fmt: skip
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"the main job on {threads} threads: {proc.stderr.strip()[-800:]}")
        result = json.loads(out.read_text())
    keys = ("seconds", "compile_seconds", "compilations", "epochs_run", "best_epoch", "test_metric")
    return {k: result[k] for k in keys}


def measure(threads: int, args) -> dict:
    """Every implementation once per round, in fresh processes; ratios per round."""
    medians: dict[str, list[float]] = {i: [] for i in args.impls}
    compiles: list[float] = []
    for r in range(args.rounds):
        for impl in args.impls:
            record = run(impl, threads, args)
            medians[impl].append(record["epoch_median"])
            if impl == "revgnn":
                compiles.append(record["compile_seconds"])
            print(f"{threads} thread(s), round {r + 1}: {impl} "
                  f"{medians[impl][-1] * 1e3:.0f} ms an epoch", flush=True)  # fmt: skip
    out: dict = {"epoch_seconds": {i: spread(t) for i, t in medians.items()}, "ratios": {}}
    if REFERENCE in medians:
        for impl in (i for i in args.impls if i != REFERENCE):
            per_round = [a / b for a, b in zip(medians[impl], medians[REFERENCE])]
            out["ratios"][f"{impl}/{REFERENCE}"] = spread(per_round)
    if "revgnn" in medians:
        epoch = statistics.median(medians["revgnn"])
        out["compile_seconds"] = statistics.median(compiles)
        out["main_job_seconds"] = epoch * args.stop_epoch + out["compile_seconds"]
        out["target_epoch_seconds"] = args.target_seconds / args.stop_epoch
        if REFERENCE in medians:
            out["target_over_pyg_epoch"] = out["target_epoch_seconds"] / statistics.median(
                medians[REFERENCE]
            )
    return out


def main(argv=None) -> int:
    args = arguments(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    result = {
        "layers": args.layers,
        "stop_epoch": args.stop_epoch,
        "target_seconds": args.target_seconds,
        "rounds": args.rounds,
        "epochs_per_process": args.epochs,
        "threads": {},
    }
    for threads in args.threads:
        result["threads"][str(threads)] = out = measure(threads, args)
        if "main_job_seconds" in out:
            line = (f"{threads} thread(s): the main job's {args.stop_epoch} epochs and its "
                    f"compilation ({out['compile_seconds']:.1f} s) take "
                    f"{out['main_job_seconds']:.1f} s (target {args.target_seconds:g} s: "
                    f"{out['target_epoch_seconds'] * 1e3:.0f} ms an epoch")  # fmt: skip
            if "target_over_pyg_epoch" in out:
                line += f", {out['target_over_pyg_epoch']:.2f}x PyG's GCNII epoch"
            print(line + ")", flush=True)
        for name, ratio in out["ratios"].items():
            print(f"{threads} thread(s): {name} {ratio['median']:.2f} "
                  f"({ratio['min']:.2f}-{ratio['max']:.2f})", flush=True)  # fmt: skip
        if args.main_job_runs:
            out["main_job_runs"] = [main_job(threads, args) for _ in range(args.main_job_runs)]
            out["main_job_measured_seconds"] = spread([r["seconds"] for r in out["main_job_runs"]])
            for r in out["main_job_runs"]:
                print(f"{threads} thread(s): revgnn train --layers {args.layers}: "
                      f"{r['seconds']:.1f} s of training ({r['compile_seconds']:.1f} s "
                      f"compiling), {r['epochs_run']} epochs, test {r['test_metric']:.4f}",
                      flush=True)  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
