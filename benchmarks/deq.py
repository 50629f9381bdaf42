"""DEQ-GNN memory and time versus solver iterations, against the unrolled weight-tied network.

For every iteration count k (default 5, 10, 20, 50) and both models, a fresh Python process
builds :class:`revgnn.models.DEQGNN` on the same synthetic ogbn-proteins-like graph (same seed,
same weights) and measures one training step (forward, BCE loss on all tasks, backward, Adam):

* ``deq``: the equilibrium with exactly k forward and k adjoint solver iterations
  (``tol=0``, so no solve stops early; the non-convergence warnings are silenced);
* ``unrolled``: the same cell applied k times with ordinary backprop (the model's warm-up
  mode), i.e. a weight-tied network of depth k.

Per configuration: saved-activation bytes of the forward pass, the median time of ``--steps``
steps, the process's peak RSS after them, and the peak bytes of one more step
(:func:`revgnn.memory.measure_peak`: CUDA allocator peak, or peak of live tensor bytes on CPU;
measured last, as the CPU profiler's own buffers would inflate the RSS). Then, in this
process, the residual trace of the forward and the adjoint solve for every built-in solver
(50 iterations from the same initial model) is written as a PNG.

Example (the figures of issue 4)::

    python benchmarks/deq.py --json benchmarks/results/deq.json \\
        --png benchmarks/results/deq_residuals.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from common import save_plot

MODELS = ("deq", "unrolled")
SOLVERS = ("fixed_point", "anderson", "broyden")


def make_graph(args: argparse.Namespace):
    import torch

    g = torch.Generator().manual_seed(args.seed)
    edge_index = torch.randint(0, args.nodes, (2, args.nodes * args.degree), generator=g)
    edge_attr = torch.rand(edge_index.size(1), args.edge_dim, generator=g)
    # ogbn-proteins' node features: the sum of the incident edges' features.
    x = torch.zeros(args.nodes, args.edge_dim).index_add_(0, edge_index[1], edge_attr)
    y = (torch.rand(args.nodes, args.tasks, generator=g) < 0.3).float()
    return x, edge_index, edge_attr, y


def build(args: argparse.Namespace, iterations: int):
    import torch

    from revgnn import build_model, load_recipe

    torch.manual_seed(args.seed)
    cfg = load_recipe("ogbn-proteins/deq-gnn").with_values({
        "model.hidden_channels": args.channels, "model.num_layers": iterations,
        "model.solver": args.solver, "model.max_iter": iterations, "model.tol": 0.0,
    }).model  # fmt: skip
    return build_model(cfg, args.edge_dim, args.tasks, args.edge_dim)


def worker(args: argparse.Namespace) -> dict:
    import warnings

    import torch

    from revgnn.memory import measure_peak, peak_rss_bytes, saved_activation_bytes
    from revgnn.solvers import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    device = torch.device(args.device)
    model_kind, k = args.worker.split(":")
    k = int(k)
    x, edge_index, edge_attr, y = (t.to(device) for t in make_graph(args))
    model = build(args, k).to(device)
    model.unrolled = model_kind == "unrolled"
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    out, saved = saved_activation_bytes(lambda: model(x, edge_index, edge_attr), exclude=[model])
    del out

    def step() -> float:
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x, edge_index, edge_attr), y)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # optimizer state allocated before the measured steps
    times = []
    for _ in range(args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    # Read before measure_peak: the CPU profiler's event buffers grow with the op count,
    # i.e. with the iterations, and would show up in the RSS.
    rss = peak_rss_bytes()
    _, peak = measure_peak(step, device)
    metrics = model.log_metrics()
    times.sort()
    return {
        "model": model_kind,
        "iterations": k,
        "saved_bytes": saved.total,
        "peak_bytes": peak.peak_bytes,
        "step_bytes": peak.step_bytes,
        "peak_rss_bytes": rss,
        "time_per_step_s": times[len(times) // 2],
        "forward_iterations": metrics.get("deq_forward_iterations"),
        "backward_iterations": metrics.get("deq_backward_iterations"),
        "device": device.type,
    }


def residual_traces(args: argparse.Namespace) -> dict:
    """Forward and adjoint residual traces of every solver, from one initial model."""
    import warnings

    import torch

    from revgnn.solvers import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    x, edge_index, edge_attr, y = make_graph(args)
    traces = {}
    for solver in SOLVERS:
        model = build(args, 50)
        model.deq.solver = model.deq.backward_solver = solver
        model.deq.solver_options = model.deq.backward_options = {}
        torch.manual_seed(args.seed)  # the same dropout mask for every solver
        loss = torch.nn.BCEWithLogitsLoss()(model(x, edge_index, edge_attr), y)
        loss.backward()
        traces[solver] = {
            "forward": model.deq.forward_stats.residuals,
            "backward": model.deq.backward_stats.residuals,
        }
    return traces


def plot(traces: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, direction in zip(axes, ("forward", "backward")):
        for solver, trace in traces.items():
            its = [i for i, r in enumerate(trace[direction]) if math.isfinite(r)]
            ax.semilogy(its, [trace[direction][i] for i in its], label=solver)
        title = "forward: z = f(z, x)" if direction == "forward" else "adjoint: g = J^T g + dl/dz"
        ax.set_title(title)
        ax.set_xlabel("evaluation of f (forward) / VJP (adjoint)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("relative residual ||f(z) - z|| / ||z||")
    axes[0].legend()
    fig.suptitle("DEQ-GNN solver residuals at initialisation (whole-graph state)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def summary(records: list[dict]) -> dict:
    by = {(r["model"], r["iterations"]): r for r in records}
    ks = sorted({r["iterations"] for r in records})
    print(f"{'model':<9}{'k':>4}{'saved MB':>10}{'peak MB':>10}{'RSS MB':>9}{'s/step':>9}")
    for r in records:
        print(
            f"{r['model']:<9}{r['iterations']:>4}{r['saved_bytes'] / 2**20:>10.2f}"
            f"{r['peak_bytes'] / 2**20:>10.2f}{r['peak_rss_bytes'] / 2**20:>9.0f}"
            f"{r['time_per_step_s']:>9.3f}"
        )
    lo, hi = ks[0], ks[-1]
    out = {}
    if ("deq", lo) in by and ("deq", hi) in by:
        ratio = by[("deq", hi)]["peak_bytes"] / by[("deq", lo)]["peak_bytes"]
        out["deq_peak_ratio"] = {"from": lo, "to": hi, "ratio": ratio, "target": 1.05}
        out["deq_peak_ratio"]["met"] = ratio <= 1.05
    if ("unrolled", lo) in by and ("unrolled", hi) in by:
        a, b = by[("unrolled", lo)], by[("unrolled", hi)]
        out["unrolled_peak_bytes_per_layer"] = (b["peak_bytes"] - a["peak_bytes"]) / (hi - lo)
        out["unrolled_saved_bytes_per_layer"] = (b["saved_bytes"] - a["saved_bytes"]) / (hi - lo)
        out["unrolled_peak_ratio"] = b["peak_bytes"] / a["peak_bytes"]
    print(json.dumps(out, indent=1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, nargs="+", default=[5, 10, 20, 50])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--degree", type=int, default=20)
    parser.add_argument("--edge-dim", type=int, default=8)
    parser.add_argument("--tasks", type=int, default=112)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--solver", default="anderson", choices=SOLVERS)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if _has_cuda() else "cpu")
    parser.add_argument("--json", type=Path, default=Path("deq.json"))
    parser.add_argument("--png", type=Path, default=Path("deq_residuals.png"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return

    config = {k: v for k, v in vars(args).items() if k not in ("json", "png", "worker")}
    records = []
    for k in args.iterations:
        for model in MODELS:
            cmd = [sys.executable, __file__, "--worker", f"{model}:{k}"]
            for key, value in config.items():
                flag = "--" + key.replace("_", "-")
                cmd += [flag, *map(str, value)] if isinstance(value, list) else [flag, str(value)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if proc.returncode != 0:
                raise RuntimeError(f"{model} k={k} failed:\n{proc.stderr}")
            records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(records[-1]), flush=True)
    result = {"config": config, "records": records, "summary": summary(records)}
    traces = residual_traces(args)
    result["residuals"] = {
        s: {d: [r if math.isfinite(r) else None for r in t[d]] for d in t}
        for s, t in traces.items()
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.json}")
    save_plot(plot, traces, args.png)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
