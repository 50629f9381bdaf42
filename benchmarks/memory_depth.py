"""Memory and time of a training step versus depth: revgnn against PyG, in one run.

For every depth and implementation a fresh Python process builds the model on one synthetic
graph (same seed, same graph everywhere), counts the saved-activation bytes of a forward pass,
measures the peak of one training step (CUDA allocator peak, or peak live tensor bytes on CPU)
and the mean time of the following steps, and reports its peak RSS. Implementations:

* ``revgnn``: :class:`revgnn.models.RevGNN`, 2 groups, pre-activation GENConv blocks;
* ``pyg_groupaddrev``: the same block (BatchNorm -> ReLU -> shared dropout -> GENConv) inside
  PyG's ``GroupAddRev``, as in PyG's ``examples/rev_gnn.py``;
* ``pyg_res_plus``: the non-reversible res+ stack of PyG's ``DeepGCNLayer`` (DeeperGCN).

Example (the targets of issue 2)::

    python benchmarks/memory_depth.py --nodes 2000 --degree 20 --channels 64 \
        --layers 7 28 112 448 1001 --json benchmarks/results/memory_depth.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

IMPLS = ("revgnn", "pyg_groupaddrev", "pyg_res_plus")


def build(impl: str, channels: int, num_layers: int, num_classes: int, dropout: float):
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch_geometric.nn import DeepGCNLayer, GENConv, GroupAddRev

    from revgnn.models import RevGNN

    def gen(c: int) -> GENConv:
        return GENConv(c, c, aggr="softmax", learn_t=True, num_layers=2, norm="batch", bias=True)

    if impl == "revgnn":
        return RevGNN(
            channels,
            channels,
            num_classes,
            num_layers,
            num_groups=2,
            aggr="softmax",
            learn_t=True,
            dropout=dropout,
        )

    class PreActBlock(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.norm = nn.BatchNorm1d(c)
            self.conv = gen(c)

        def reset_parameters(self) -> None:
            self.norm.reset_parameters()
            self.conv.reset_parameters()

        def forward(self, x, edge_index, dropout_mask=None):
            x = self.norm(x).relu()
            if self.training and dropout_mask is not None:
                x = x * dropout_mask
            return self.conv(x, edge_index)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Linear(channels, channels)
            if impl == "pyg_groupaddrev":
                self.layers = nn.ModuleList(
                    GroupAddRev(PreActBlock(channels // 2), num_groups=2) for _ in range(num_layers)
                )
            else:
                self.layers = nn.ModuleList(
                    DeepGCNLayer(
                        gen(channels),
                        nn.BatchNorm1d(channels),
                        nn.ReLU(),
                        block="res+",
                        dropout=dropout,
                    )
                    for _ in range(num_layers)
                )
            self.norm = nn.BatchNorm1d(channels)
            self.head = nn.Linear(channels, num_classes)

        def forward(self, x, edge_index):
            h = self.encoder(x)
            if impl == "pyg_groupaddrev":
                mask = torch.empty_like(h).bernoulli_(1 - dropout) / (1 - dropout)
                for layer in self.layers:
                    h = layer(h, edge_index, mask)
            else:
                for layer in self.layers:
                    h = layer(h, edge_index)
            h = F.dropout(self.norm(h).relu(), p=dropout, training=self.training)
            return self.head(h)

    return Model()


def worker(args: argparse.Namespace) -> dict:
    import torch
    import torch.nn.functional as F

    from revgnn.memory import measure_peak, peak_rss_bytes, saved_activation_bytes

    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    n, num_edges = args.nodes, args.nodes * args.degree
    x = torch.randn(n, args.channels, device=device)
    edge_index = torch.randint(0, n, (2, num_edges), device=device)
    y = torch.randint(0, args.classes, (n,), device=device)
    model = build(args.impl, args.channels, args.num_layers, args.classes, args.dropout)
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x, edge_index), y)
        loss.backward()
        opt.step()
        return loss.detach()

    out, saved = saved_activation_bytes(lambda: model(x, edge_index), exclude=[model])
    del out
    step()  # warm-up: Adam state exists from here on, as in every later step

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    seconds = (time.perf_counter() - start) / args.steps
    # Read before the profiled step: the profiler's own event records grow with the op count.
    rss = peak_rss_bytes()
    _, peak = measure_peak(step, device)
    return {
        "impl": args.impl,
        "layers": args.num_layers,
        "saved_bytes": saved.total,
        "peak_bytes": peak.peak_bytes,
        "step_seconds": seconds,
        "peak_rss_bytes": rss,
        "num_params": sum(p.numel() for p in model.parameters()),
        "device": peak.device,
    }


def plot(records: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("saved_bytes", "saved activations"), ("peak_bytes", "peak of a step")]
    keys.append(("peak_rss_bytes", "process peak RSS"))
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for ax, (key, label) in zip(axes, keys):
        for impl in IMPLS:
            rows = sorted((r["layers"], r[key]) for r in records if r["impl"] == impl)
            if rows:
                ax.plot(*zip(*[(d, b / 2**20) for d, b in rows]), marker="o", label=impl)
        ax.set(xscale="log", yscale="log", xlabel="layers", ylabel="MiB", title=label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def summary(records: list[dict]) -> None:
    by = {(r["impl"], r["layers"]): r for r in records}
    print(f"{'impl':<16}{'layers':>7}{'saved MiB':>11}{'peak MiB':>10}{'RSS MiB':>9}{'step s':>9}")
    for r in records:
        print(
            f"{r['impl']:<16}{r['layers']:>7}{r['saved_bytes'] / 2**20:>11.2f}"
            f"{r['peak_bytes'] / 2**20:>10.1f}{r['peak_rss_bytes'] / 2**20:>9.0f}"
            f"{r['step_seconds']:>9.3f}"
        )
    depths = sorted({r["layers"] for r in records if r["impl"] == "revgnn"})
    if len(depths) >= 2:
        lo, hi = by["revgnn", depths[0]], by["revgnn", depths[-1]]
        print(
            f"revgnn saved bytes at {depths[-1]} / at {depths[0]} layers: "
            f"{hi['saved_bytes'] / lo['saved_bytes']:.3f}"
        )
    for depth in depths:
        ours = by["revgnn", depth]
        for peer in ("pyg_groupaddrev", "pyg_res_plus"):
            if (peer, depth) in by:
                keys = ("peak_bytes", "peak_rss_bytes", "step_seconds")
                ratio = {k: ours[k] / by[peer, depth][k] for k in keys}
                print(
                    f"{depth:>5} layers vs {peer}: peak {ratio['peak_bytes']:.2f}x, "
                    f"RSS {ratio['peak_rss_bytes']:.2f}x, step time {ratio['step_seconds']:.2f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--degree", type=int, default=20, help="average in-degree K (E = N*K)")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--layers", type=int, nargs="+", default=[7, 28, 112])
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument(
        "--res-plus-max-layers",
        type=int,
        default=224,
        help="skip pyg_res_plus deeper than this (its O(LND) activations would not fit)",
    )
    parser.add_argument(
        "--max-memory-gb",
        type=float,
        default=None,
        help="address-space limit of each configuration's process: one that needs more fails "
        "with an out-of-memory error instead of taking the machine down",
    )
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per configuration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if _has_cuda() else "cpu")
    parser.add_argument("--json", type=Path, default=Path("memory_depth.json"))
    parser.add_argument("--png", type=Path, default=None, help="default: --json with .png")
    parser.add_argument("--worker", nargs=2, metavar=("IMPL", "LAYERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        args.impl, args.num_layers = args.worker[0], int(args.worker[1])
        print(json.dumps(worker(args)))
        return

    common = [
        *("--nodes", str(args.nodes), "--degree", str(args.degree)),
        *("--channels", str(args.channels), "--classes", str(args.classes)),
        *("--dropout", str(args.dropout), "--steps", str(args.steps)),
        *("--seed", str(args.seed), "--device", args.device),
    ]
    records = []
    for depth in args.layers:
        for impl in args.impls:
            if impl == "pyg_res_plus" and depth > args.res_plus_max_layers:
                print(f"skip {impl} at {depth} layers (> --res-plus-max-layers)", flush=True)
                continue
            cmd = [sys.executable, __file__, *common, "--worker", impl, str(depth)]
            proc = subprocess.run(
                cmd, capture_output=True, text=True, preexec_fn=_limit(args.max_memory_gb)
            )
            if proc.returncode != 0:
                reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
                print(f"{impl} at {depth} layers failed: {reason}", flush=True)
                continue
            record = json.loads(proc.stdout.strip().splitlines()[-1])
            records.append(record)
            print(json.dumps(record), flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(records, indent=1) + "\n")
    summary(records)
    title = (
        f"N={args.nodes}, K={args.degree}, D={args.channels}, GENConv softmax, "
        f"{records[0]['device'] if records else args.device}"
    )
    plot(records, args.png or args.json.with_suffix(".png"), title)


def _limit(gigabytes: float | None):
    if gigabytes is None:
        return None

    def apply() -> None:
        import resource

        limit = int(gigabytes * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
