"""Memory and time of a DeepGCN training step versus depth: ResGCN against reversible ResGCN.

Every depth and backbone runs in a fresh process on the same random clouds (S3DIS-shaped: 9
input channels, 13 classes, the semantic-segmentation head), with dynamic dilated k-NN graphs
(dilation 1 + i at block i, stochastic dilation on). Each worker reports the saved-activation
bytes of a forward pass, the peak of one training step (CUDA allocator peak, or peak live
tensor bytes on CPU) with and without the model state (weights, gradients, Adam's two
moments), the process's peak RSS, the median step time in fp32 and under bf16 autocast, and
the share of the step spent building k-NN graphs (forward and backward recomputation).

The issue's configuration is the default (batch 8 x 4096 points, 64 channels, k 16, depths 7
to 151); a CPU can run a smaller one, e.g.::

    python benchmarks/point_cloud_depth.py --batch 2 --points 1024 --max-dilation 32 \
        --plain-depths 7 14 28 --json benchmarks/results/point_cloud_depth_cpu.json

The reversible ResGCN runs twice: searching each block's k-NN graphs again in the backward
pass (``rev-resgcn``, the default) and keeping their indices from the forward pass
(``rev-resgcn-keep``, ``knn_graphs="keep"``; ``index_bytes_per_block`` says what that costs).

Targets: reversible ResGCN-151 peak <= 1.3 x reversible ResGCN-7 peak (model state aside);
reversible step with kept indices <= 1.3 x the non-reversible one at equal depth; k-NN <= 30%
of a ResGCN-28 step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from common import address_space_limit, has_cuda, save_plot, write_records

#: ``rev-resgcn`` searches each block's k-NN graphs again in the backward pass (the default,
#: ``knn_graphs="recompute"``); ``rev-resgcn-keep`` keeps their indices (``"keep"``).
IMPLS = ("resgcn", "rev-resgcn", "rev-resgcn-keep")
WORKER = ("batch", "points", "channels", "k", "max_dilation", "steps", "seed", "device")


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--points", type=int, default=4096)
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--max-dilation", type=int, default=None, help="cap (k * d <= points)")
    p.add_argument("--depths", type=int, nargs="+", default=[7, 14, 28, 56, 112, 151])
    p.add_argument(
        "--plain-depths", type=int, nargs="+", default=None,
        help="depths of the non-reversible ResGCN (default: --depths)",
    )  # fmt: skip
    p.add_argument("--steps", type=int, default=2, help="timed steps (median)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cuda" if has_cuda() else "cpu")
    p.add_argument("--memory-limit-gb", type=float, default=None, help="per worker (CPU)")
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/point_cloud_depth.json"))
    p.add_argument("--plot", type=Path, default=None, help="PNG (default: next to --json)")
    p.add_argument("--worker", nargs=2, metavar=("IMPL", "DEPTH"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def measure(impl: str, depth: int, args: argparse.Namespace) -> dict:
    import torch
    import torch.nn.functional as F

    import revgnn.nn.knn as knn_module
    from revgnn import PointModelConfig, build_model
    from revgnn.memory import measure_peak, mmap_large_blocks, peak_rss_bytes
    from revgnn.memory.saved import saved_activation_bytes

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    x = torch.randn(args.batch, args.points, 9, device=device)
    y = torch.randint(0, 13, (args.batch, args.points), device=device)
    cfg = PointModelConfig(
        task="segmentation", num_layers=depth, hidden_channels=args.channels,
        backbone="res" if impl == "resgcn" else "rev", k=args.k, stochastic=True,
        max_dilation=args.max_dilation, dropout=0.3, head_bias=True,
        knn_graphs="keep" if impl == "rev-resgcn-keep" else "recompute",
    )  # fmt: skip
    model = build_model(cfg, 9, 13).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    amp = {"value": None}

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    knn_seconds = {"total": 0.0}
    exact_knn = knn_module.knn

    def timed_knn(*a, **kw):
        sync()
        start = time.perf_counter()
        out = exact_knn(*a, **kw)
        sync()
        knn_seconds["total"] += time.perf_counter() - start
        return out

    knn_module.knn = timed_knn

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, torch.bfloat16, enabled=amp["value"] == "bf16"):
            out = model(x)
        F.cross_entropy(out.float().reshape(-1, 13), y.reshape(-1)).backward()
        opt.step()

    def timed(mode):
        amp["value"] = mode
        step()  # warm-up (Adam state, autocast caches)
        times, shares = [], []
        for _ in range(args.steps):
            knn_seconds["total"] = 0.0
            sync()
            start = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - start)
            shares.append(knn_seconds["total"] / times[-1])
        order = sorted(range(len(times)), key=times.__getitem__)
        mid = order[len(order) // 2]
        return times[mid], shares[mid]

    _, saved = saved_activation_bytes(lambda: model(x), exclude=[model])
    fp32_seconds, knn_share = timed(None)
    bf16_seconds, _ = timed("bf16")
    amp["value"] = None
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    record = {
        "impl": impl,
        "layers": depth,
        "saved_bytes": saved.total,
        "step_seconds": fp32_seconds,
        "bf16_step_seconds": bf16_seconds,
        "knn_share": knn_share,
        "peak_rss_bytes": peak_rss_bytes(),
        "num_params": sum(p.numel() for p in model.parameters()),
        # What "keep" stores per reversible block: k indices a point per group, int16 / int32.
        "index_bytes_per_block": (
            cfg.num_groups * args.batch * args.points * args.k * (2 if args.points <= 32768 else 4)
            if impl == "rev-resgcn-keep"
            else 0
        ),
        "state_bytes": 4 * params,  # weights, gradients, Adam's exp_avg and exp_avg_sq
        "device": device.type,
    }
    print(json.dumps(record), flush=True)
    if device.type == "cpu":
        mmap_large_blocks()
    _, peak = measure_peak(step, device)
    record["peak_bytes"] = peak.peak_bytes
    record["peak_minus_state_bytes"] = peak.peak_bytes - record["state_bytes"]
    return record


def run_worker(impl: str, depth: int, args: argparse.Namespace) -> dict:
    import subprocess

    flags = []
    for name in WORKER:
        value = getattr(args, name)
        if value is not None:
            flags += [f"--{name.replace('_', '-')}", str(value)]
    cmd = [sys.executable, __file__, *flags, "--worker", impl, str(depth)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, preexec_fn=address_space_limit(args.memory_limit_gb)
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode == 0:
        return json.loads(lines[-1])
    reason = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    record = {"impl": impl, "layers": depth, "error": reason}
    if lines:
        record.update(json.loads(lines[-1]))
    return record


def mib(value) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def summarise(records: list[dict]) -> dict:
    by = {(r["impl"], r["layers"]): r for r in records if "error" not in r}
    out: dict = {}
    for impl in IMPLS[1:]:
        rev = sorted(d for i, d in by if i == impl)
        if len(rev) >= 2:
            lo, hi = by[(impl, rev[0])], by[(impl, rev[-1])]
            ratio = hi["peak_minus_state_bytes"] / lo["peak_minus_state_bytes"]
            out[f"{impl}_peak_ratio"] = {"depths": [rev[0], rev[-1]], "ratio": ratio, "target": 1.3}
        out[f"{impl}_over_plain_step"] = {
            d: by[(impl, d)]["step_seconds"] / by[("resgcn", d)]["step_seconds"]
            for i, d in by
            if i == "resgcn" and (impl, d) in by
        }
    if ("resgcn", 28) in by:
        out["knn_share_resgcn_28"] = by[("resgcn", 28)]["knn_share"]
    out["bf16_speedup"] = {
        f"{i}-{d}": r["step_seconds"] / r["bf16_step_seconds"] for (i, d), r in by.items()
    }
    return out


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for impl in IMPLS:
        rows = sorted((r for r in records if r["impl"] == impl and "error" not in r),
                      key=lambda r: r["layers"])  # fmt: skip
        depths = [r["layers"] for r in rows]
        a.plot(depths, [r["peak_minus_state_bytes"] / 2**20 for r in rows], "o-", label=impl)
        b.plot(depths, [r["step_seconds"] for r in rows], "o-", label=f"{impl} fp32")
        b.plot(depths, [r["bf16_step_seconds"] for r in rows], "x--", label=f"{impl} bf16")
    a.set(xlabel="layers", ylabel="peak MiB (model state aside)", title="memory")
    b.set(xlabel="layers", ylabel="seconds per step", title="time")
    for ax in (a, b):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv=None) -> int:
    args = arguments(argv)
    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), args)), flush=True)
        return 0
    plain = set(args.plain_depths if args.plain_depths is not None else args.depths)
    records = []
    print(f"{'impl':<12}{'layers':>7}{'saved MiB':>11}{'peak-state':>12}{'RSS MiB':>9}"
          f"{'step s':>9}{'bf16 s':>9}{'k-NN':>7}")  # fmt: skip
    for depth in args.depths:
        for impl in IMPLS:
            if impl == "resgcn" and depth not in plain:
                continue
            r = run_worker(impl, depth, args)
            records.append(r)
            write_records(args.json, records)
            if "error" in r:
                print(f"{impl:<12}{depth:>7}  failed: {r['error']}", flush=True)
                continue
            print(
                f"{impl:<12}{depth:>7}{mib(r['saved_bytes']):>11}"
                f"{mib(r['peak_minus_state_bytes']):>12}{mib(r['peak_rss_bytes']):>9}"
                f"{r['step_seconds']:>9.2f}{r['bf16_step_seconds']:>9.2f}{r['knn_share']:>7.0%}",
                flush=True,
            )
    summary = summarise(records)
    config = {k: getattr(args, k) for k in WORKER}
    args.json.write_text(
        json.dumps({"config": config, "records": records, "summary": summary}, indent=1) + "\n"
    )
    print(json.dumps(summary, indent=1))
    save_plot(plot, records, args.plot or args.json.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
