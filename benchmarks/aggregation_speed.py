"""Forward + backward time of one GENConv layer, revgnn against PyG, next to the machine's bound.

One graph (Amazon Computers from ``--root``, else a random graph of its size: 13,752 nodes,
491,722 edges), 32 channels, GENConv with a 2-layer MLP and BatchNorm, for each aggregation
(softmax, softmax_sg, powermean, max, mean) and each thread count. Implementations:

* ``revgnn``: the lean path over edges sorted by target, with freed memory reused
  (:func:`revgnn.utils.reuse_freed_memory`, which :func:`revgnn.train` sets on CPU), its
  kernels compiled (:mod:`revgnn.nn.aggr.fused`; compile time excluded, reported once per
  process in the record): what a training run executes;
* ``revgnn-eager``: the same with ``REVGNN_COMPILE=0`` (the eager lean path);
* ``scatter-sum``: the yardstick, one eager ``torch.zeros(N, D).index_add_(0, index, msg)``
  forward and backward of the gathered messages, no MLP;
* ``revgnn-unsorted``: the lean path over the edges in their given order with glibc's default
  policy (the code path before this work; ``REVGNN_SORTED_SEGMENTS=0``);
* ``revgnn-plain``: revgnn's GENConv with ``lean=False`` (PyG's propagate, our aggregators),
  freed memory reused;
* ``pyg``: ``torch_geometric.nn.GENConv`` as a user runs it;
* ``pyg-tuned``: the same with freed memory reused, so that ``revgnn / pyg-tuned`` compares
  the kernels alone.

Every measurement runs in a fresh process, and the implementations alternate (A B C D A B C D
..., ``--rounds`` times): a ratio is the median of the per-round ratios, with its spread, so
that a machine that slows down for a while shifts both sides of a ratio.

The bound next to each figure: the bytes a fused kernel must move (forward: read each edge's
source row; backward: read it again with the target's gradient row and accumulate the source
gradient: 4 E x D x 4 bytes, plus the N x D inputs and outputs) at the memory bandwidth
measured here (a large tensor copy), plus the MLP's flops at the measured matmul rate.

``--step``: a 112-layer RevGNN training step on the memory_depth graph (N = 2,000, K = 20,
D = 64): ``revgnn`` (compiled kernels) against ``revgnn-eager`` (the same code with
``REVGNN_COMPILE=0``) and ``revgnn-unsorted``, alternating the same way; each record has the
step's peak tensor bytes (:func:`revgnn.memory.measure_peak`) and the compile counts.

    python benchmarks/aggregation_speed.py --root DATA --threads 1 2 --rounds 3 \
        --json benchmarks/results/aggregation_speed.json
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

from common import has_cuda, json_worker, save_plot, spread

IMPLS = (
    "revgnn",
    "revgnn-eager",
    "scatter-sum",
    "revgnn-unsorted",
    "revgnn-plain",
    "pyg",
    "pyg-tuned",
)
STEP_IMPLS = ("revgnn", "revgnn-eager", "revgnn-unsorted")
#: Nominal HBM bandwidth (bytes/s, vendor data sheets) of the GPUs the suite may get.
PEAK_BANDWIDTH = {"H200": 4.8e12, "H100 SXM": 3.35e12, "H100 PCIe": 2.0e12, "H100": 3.35e12,
                  "A100-SXM4-80GB": 2.039e12, "A100": 1.555e12}  # fmt: skip

#: The implementations that run with freed memory reused.
REUSE = ("revgnn", "revgnn-eager", "revgnn-plain", "pyg-tuned")
AGGRS = ("softmax", "softmax_sg", "powermean", "max", "mean")


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--root", help="data folder with amazon/Computers (else a random graph)")
    p.add_argument("--channels", type=int, default=32)
    p.add_argument("--aggrs", nargs="*", default=list(AGGRS), choices=AGGRS)
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per process (median)")
    p.add_argument("--nodes", type=int, default=13_752, help="random graph: nodes")
    p.add_argument("--edges", type=int, default=491_722, help="random graph: edges")
    p.add_argument("--step", action="store_true", help="also the 112-layer RevGNN step")
    p.add_argument("--step-layers", type=int, default=112)
    p.add_argument("--device", default="cuda" if has_cuda() else "cpu")
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/aggregation_speed.json"))
    p.add_argument("--worker", nargs=3, metavar=("KIND", "IMPL", "ARG"), help=argparse.SUPPRESS)
    p.add_argument("--worker-threads", type=int, default=1, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def graph(args, device):
    import torch

    if args.root:
        from revgnn.datasets import load_dataset

        ds = load_dataset("computers", args.root)
        n, edge_index = ds.num_nodes, ds.data.edge_index
    else:
        gen = torch.Generator().manual_seed(0)
        n = args.nodes
        edge_index = torch.randint(0, n, (2, args.edges), generator=gen)
    return n, edge_index.to(device)


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, reps: int, device) -> float:
    fn()  # warm-up: caches (the sorted graph), allocator
    times = []
    for _ in range(reps):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def conv_worker(impl: str, aggr: str, args) -> dict:
    import torch

    device = torch.device(args.device)
    torch.manual_seed(0)
    n, edge_index = graph(args, device)
    d = args.channels
    kw = {"t": 1.0, "learn_t": aggr == "softmax", "p": 1.0, "learn_p": aggr == "powermean"}
    if impl == "scatter-sum":
        x = torch.randn(n, d, device=device, requires_grad=True)
        src, dst = edge_index

        def yardstick():
            x.grad = None
            msg = x.index_select(0, src)
            torch.zeros(n, d, device=device).index_add_(0, dst, msg).square().sum().backward()

        return {"seconds": timed(yardstick, args.reps, device), "nodes": n, "edges": src.numel()}
    if impl.startswith("pyg"):
        from torch_geometric.nn import GENConv

        pyg_aggr = "softmax" if aggr == "softmax_sg" else aggr
        if aggr == "softmax_sg":
            kw["learn_t"] = False
        conv = GENConv(d, d, aggr=pyg_aggr, num_layers=2, norm="batch", **kw)
    else:
        from revgnn.nn.conv import GENConv

        conv = GENConv(
            d, d, aggr=aggr, num_layers=2, norm="batch", lean=impl != "revgnn-plain", **kw
        )
    conv = conv.to(device).train()
    x = torch.randn(n, d, device=device, requires_grad=True)

    def step():
        conv.zero_grad(set_to_none=True)
        x.grad = None
        conv(x, edge_index).square().sum().backward()

    from revgnn.utils.compile import compile_stats

    seconds = timed(step, args.reps, device)
    return {
        "seconds": seconds,
        "nodes": n,
        "edges": edge_index.size(1),
        **compile_stats().as_dict(),
    }


def step_worker(impl: str, layers: int, args) -> dict:
    import torch
    import torch.nn.functional as F

    from revgnn import ModelConfig, build_model

    device = torch.device(args.device)
    torch.manual_seed(0)
    n = 2000
    x = torch.randn(n, 64, device=device)
    edge_index = torch.randint(0, n, (2, n * 20), device=device)
    y = torch.randint(0, 8, (n,), device=device)
    cfg = ModelConfig(
        hidden_channels=64, num_layers=layers, conv="gen", shared_dropout=True,
        conv_options={"aggr": "softmax", "learn_t": True}, norm="batch", dropout=0.1,
        input_dropout=0.0, branch_gate=None,
    )  # fmt: skip
    model = build_model(cfg, 64, 8).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x, edge_index), y).backward()
        opt.step()

    from revgnn.memory import measure_peak
    from revgnn.utils.compile import compile_stats

    seconds = timed(step, args.reps, device)
    _, peak = measure_peak(step, device)
    return {"seconds": seconds, "layers": layers, "step_bytes": peak.step_bytes,
            **compile_stats().as_dict()}  # fmt: skip


def bounds_worker(args) -> dict:
    import torch

    device = torch.device(args.device)
    big = torch.empty(64 * 2**20, device=device)  # 256 MiB
    out = torch.empty_like(big)
    big.normal_()
    copy = timed(lambda: out.copy_(big), 5, device)
    a = torch.randn(2048, 2048, device=device)
    mm = timed(lambda: a @ a, 5, device)
    out = {"bandwidth": 2 * big.numel() * 4 / copy, "matmul_flops": 2 * 2048**3 / mm}
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        out["device"] = name
        out["peak_bandwidth"] = next((v for k, v in PEAK_BANDWIDTH.items() if k in name), None)
    return out


def run(kind: str, impl: str, arg: str, threads: int, args) -> dict:
    flags = [
        "--channels",
        str(args.channels),
        "--reps",
        str(args.reps),
        "--device",
        args.device,
        "--nodes",
        str(args.nodes),
        "--edges",
        str(args.edges),
    ]
    flags += ["--root", args.root] if args.root else []
    env = {}
    if impl == "revgnn-unsorted":
        env["REVGNN_SORTED_SEGMENTS"] = "0"
    if impl in ("revgnn-eager", "revgnn-unsorted"):
        env["REVGNN_COMPILE"] = "0"  # the eager paths these measured before compilation
    cmd = [
        sys.executable,
        __file__,
        *flags,
        "--worker-threads",
        str(threads),
        "--worker",
        kind,
        impl,
        arg,
    ]
    return json_worker(cmd, threads, f"{kind} {impl} {arg}", **env)


def compare(kind: str, impls, arg: str, threads: int, args, reference: str) -> dict:
    times: dict[str, list[float]] = {i: [] for i in impls}
    last: dict[str, dict] = {}
    for _ in range(args.rounds):
        for impl in impls:
            last[impl] = run(kind, impl, arg, threads, args)
            times[impl].append(last[impl].pop("seconds"))
    out = {"seconds": {i: spread(t) for i, t in times.items()}, "ratios": {}, "last": last}
    for impl in impls:
        if impl != reference:
            per_round = [a / b for a, b in zip(times[impl], times[reference])]
            out["ratios"][f"{impl}/{reference}"] = spread(per_round)
    if "scatter-sum" in impls and reference != "scatter-sum":
        for impl in (i for i in impls if i.startswith("revgnn")):
            per_round = [a / b for a, b in zip(times[impl], times["scatter-sum"])]
            out["ratios"][f"{impl}/scatter-sum"] = spread(per_round)
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["conv"]
    threads = sorted({r["threads"] for r in rows})
    fig, axes = plt.subplots(1, len(threads), figsize=(6 * len(threads), 4), squeeze=False)
    for ax, t in zip(axes[0], threads):
        sub = [r for r in rows if r["threads"] == t]
        names = [r["aggr"] for r in sub]
        impls = [i for i in IMPLS if any(i in r["seconds"] for r in sub)]
        width = 0.8 / len(impls)
        for k, impl in enumerate(impls):
            ax.bar(
                [i + k * width for i in range(len(sub))],
                [1000 * r["seconds"].get(impl, {"median": math.nan})["median"] for r in sub],
                width,
                label=impl,
            )
        ax.plot(
            [i + 0.4 - width / 2 for i in range(len(sub))],
            [1000 * r["bound_seconds"] for r in sub],
            "k_",
            markersize=30,
            label="bound",
        )
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(sub))], names)
        ax.set(ylabel="ms, forward + backward", title=f"one GENConv layer, {t} thread(s)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv=None) -> int:
    args = arguments(argv)
    if args.worker:
        import torch

        torch.set_num_threads(args.worker_threads)
        kind, impl, arg = args.worker
        if impl in REUSE:
            from revgnn.utils import reuse_freed_memory

            reuse_freed_memory()
        if kind == "conv":
            record = conv_worker(impl, arg, args)
        elif kind == "step":
            record = step_worker(impl, int(arg), args)
        else:
            record = bounds_worker(args)
        print(json.dumps(record), flush=True)
        return 0
    result: dict = {
        "config": {k: getattr(args, k) for k in ("channels", "rounds", "reps")},
        "conv": [],
        "bounds": {},
    }
    info = run("conv", "revgnn", "mean", 1, args)
    n, e, d = info["nodes"], info["edges"], args.channels
    result["config"].update(nodes=n, edges=e, device=args.device)
    for t in args.threads:
        b = run("bounds", "-", "-", t, args)
        result["bounds"][t] = b
        moved = 4 * e * d * 4 + 6 * n * d * 4
        flops = 3 * 2 * n * (d * 2 * d + 2 * d * d)  # the MLP's two maps, forward and backward
        bound = moved / b["bandwidth"] + flops / b["matmul_flops"]
        print(
            f"{t} thread(s): bandwidth {b['bandwidth'] / 1e9:.1f} GB/s, matmul "
            f"{b['matmul_flops'] / 1e9:.1f} GFLOP/s, bound {1000 * bound:.1f} ms",
            flush=True,
        )
        for aggr in args.aggrs:
            impls = [i for i in args.impls if not (i.startswith("pyg") and aggr == "softmax_sg")]
            row = compare("conv", impls, aggr, t, args, "pyg" if "pyg" in impls else impls[-1])
            row.update(aggr=aggr, threads=t, bound_seconds=bound)
            row["over_bound"] = {i: s["median"] / bound for i, s in row["seconds"].items()}
            # The bytes a fused kernel must move, over its time: the bandwidth it achieves,
            # next to the device's measured copy bandwidth (and its nominal peak, if known).
            row["achieved_bandwidth"] = {i: moved / s["median"] for i, s in row["seconds"].items()}
            row["fraction_of_copy_bandwidth"] = {
                i: v / b["bandwidth"] for i, v in row["achieved_bandwidth"].items()
            }
            if b.get("peak_bandwidth"):
                row["fraction_of_peak"] = {
                    i: v / b["peak_bandwidth"] for i, v in row["achieved_bandwidth"].items()
                }
            result["conv"].append(row)
            times = ", ".join(f"{i} {1000 * s['median']:.0f} ms" for i, s in row["seconds"].items())
            ratios = ", ".join(
                f"{k} {v['median']:.2f} [{v['min']:.2f}, {v['max']:.2f}]"
                for k, v in row["ratios"].items()
            )
            print(f"  {aggr:<11} {times} | {ratios}", flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.step:
        row = compare(
            "step", STEP_IMPLS, str(args.step_layers), args.threads[0], args, "revgnn-eager"
        )
        row.update(layers=args.step_layers, threads=args.threads[0])
        result["step"] = row
        for name, r in row["ratios"].items():
            print(
                f"RevGNN-{args.step_layers} step: {name} {r['median']:.2f} "
                f"[{r['min']:.2f}, {r['max']:.2f}]",
                flush=True,
            )
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    if result["conv"]:
        save_plot(plot, result, args.json.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
