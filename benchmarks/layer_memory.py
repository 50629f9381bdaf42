"""Memory-lean softmax aggregation against the plain path and PyG, one layer and deep stacks.

For every implementation and depth a fresh Python process builds the model on one synthetic
graph (same seed, same graph everywhere), counts the saved-activation bytes of a forward pass,
measures the peak of one training step (CUDA allocator peak, or peak live tensor bytes on CPU),
times the following steps and reports its peak RSS. GENConv with softmax aggregation and a
learned inverse temperature everywhere (the DeeperGCN setting). Implementations:

* ``revgnn_lean`` / ``revgnn_plain``: :class:`revgnn.models.RevGNN` (2 groups, pre-activation
  GENConv blocks, shared dropout) with the memory-lean aggregation (``lean=True``) or the
  plain autograd path (``lean=False``); ``revgnn_lean_chunked``: lean, ``--chunk-size`` edges
  at a time;
* ``pyg_groupaddrev``: the same block (BatchNorm -> ReLU -> shared dropout -> PyG GENConv)
  inside PyG's ``GroupAddRev``, as in PyG's ``examples/rev_gnn.py`` and
  ``benchmarks/memory_depth.py``;
* ``layer_lean`` / ``layer_plain`` / ``pyg_layer`` (``--layers 1`` only): one non-reversible
  res+ layer (x + GENConv(ReLU(BatchNorm(x)))) with :class:`revgnn.GENConv` lean or plain, or
  PyG's GENConv: the saved bytes of a single layer, where the lean path shows directly.

Example (the targets of issue 3; run the 448-layer configurations once, they are slow)::

    python benchmarks/layer_memory.py --nodes 2000 --degree 20 --channels 64 \\
        --layers 1 112 --json benchmarks/results/layer_memory.json
    python benchmarks/layer_memory.py --layers 448 --steps 1 --append \\
        --json benchmarks/results/layer_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REVERSIBLE = ("revgnn_lean", "revgnn_lean_chunked", "revgnn_plain", "pyg_groupaddrev")
LAYER = ("layer_lean", "layer_plain", "pyg_layer")
IMPLS = REVERSIBLE + LAYER


def build(impl: str, channels: int, num_layers: int, num_classes: int, args: argparse.Namespace):
    import torch
    from torch import nn
    from torch_geometric.nn import GENConv as PygGENConv
    from torch_geometric.nn import GroupAddRev

    from revgnn import GENConv
    from revgnn.models import RevGNN

    dropout = args.dropout

    if impl in ("revgnn_lean", "revgnn_lean_chunked", "revgnn_plain"):
        return RevGNN(
            channels,
            channels,
            num_classes,
            num_layers,
            num_groups=2,
            aggr="softmax",
            learn_t=True,
            dropout=dropout,
            lean=impl != "revgnn_plain",
            chunk_size=args.chunk_size if impl == "revgnn_lean_chunked" else None,
        )

    def conv(c: int) -> nn.Module:
        if impl in ("pyg_groupaddrev", "pyg_layer"):
            return PygGENConv(c, c, aggr="softmax", learn_t=True, norm="batch", bias=True)
        return GENConv(
            c,
            c,
            "softmax",
            learn_t=True,
            norm="batch",
            lean=impl == "layer_lean",
        )

    class PreActBlock(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.norm = nn.BatchNorm1d(c)
            self.conv = conv(c)

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
                self.layers = nn.ModuleList(PreActBlock(channels) for _ in range(num_layers))
            self.norm = nn.BatchNorm1d(channels)
            self.head = nn.Linear(channels, num_classes)

        def forward(self, x, edge_index):
            h = self.encoder(x)
            mask = torch.empty_like(h).bernoulli_(1 - dropout) / (1 - dropout)
            for layer in self.layers:
                if impl == "pyg_groupaddrev":
                    h = layer(h, edge_index, mask)
                else:
                    h = h + layer(h, edge_index, mask)
            h = nn.functional.dropout(self.norm(h).relu(), p=dropout, training=self.training)
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
    model = build(args.impl, args.channels, args.num_layers, args.classes, args)
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
    _, peak = measure_peak(step, device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    times = []
    for _ in range(args.steps):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
    return {
        "impl": args.impl,
        "layers": args.num_layers,
        "saved_bytes": saved.total,
        "peak_bytes": peak.peak_bytes,
        "step_seconds": sorted(times)[len(times) // 2] if times else None,
        "peak_rss_bytes": peak_rss_bytes(),
        "num_params": sum(p.numel() for p in model.parameters()),
        "chunk_size": args.chunk_size if args.impl == "revgnn_lean_chunked" else None,
        "device": peak.device,
    }


def summary(records: list[dict]) -> dict:
    """Print the table and the ratios the targets are about; returns the ratios."""
    by = {(r["impl"], r["layers"]): r for r in records}
    print(f"{'impl':<16}{'layers':>7}{'saved MiB':>11}{'peak MiB':>10}{'RSS MiB':>9}{'step s':>9}")
    for r in records:
        step = f"{r['step_seconds']:>9.3f}" if r["step_seconds"] is not None else f"{'-':>9}"
        print(
            f"{r['impl']:<16}{r['layers']:>7}{r['saved_bytes'] / 2**20:>11.2f}"
            f"{r['peak_bytes'] / 2**20:>10.1f}{r['peak_rss_bytes'] / 2**20:>9.0f}"
            f"{step}"
        )
    ratios = {}
    for depth in sorted({r["layers"] for r in records}):
        row = {}
        plain, pyg = by.get(("revgnn_plain", depth)), by.get(("pyg_groupaddrev", depth))
        for impl in ("revgnn_lean", "revgnn_lean_chunked"):
            lean = by.get((impl, depth))
            if lean and pyg:
                row[f"peak_{impl}_over_pyg"] = lean["peak_bytes"] / pyg["peak_bytes"]
                if lean.get("malloc_mmap_threshold") == pyg.get("malloc_mmap_threshold"):
                    rss = lean["peak_rss_bytes"] / pyg["peak_rss_bytes"]
                    row[f"rss_{impl}_over_pyg"] = rss
            if lean and plain:
                row[f"peak_{impl}_over_plain"] = lean["peak_bytes"] / plain["peak_bytes"]
                if lean["step_seconds"] and plain["step_seconds"]:
                    row[f"step_{impl}_over_plain"] = lean["step_seconds"] / plain["step_seconds"]
        layer_lean, layer_plain = by.get(("layer_lean", depth)), by.get(("layer_plain", depth))
        if layer_lean and layer_plain:
            row["saved_layer_lean_over_plain"] = (
                layer_lean["saved_bytes"] / layer_plain["saved_bytes"]
            )
        if row:
            ratios[str(depth)] = row
            print(f"{depth:>5} layers: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--degree", type=int, default=20, help="average in-degree K (E = N*K)")
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 112])
    parser.add_argument("--impls", nargs="+", choices=IMPLS, default=list(IMPLS))
    parser.add_argument(
        "--chunk-size", type=int, default=8192, help="edges per slice of revgnn_lean_chunked"
    )
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument(
        "--steps", type=int, default=3, help="timed steps (median reported; 0: not timed)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if _has_cuda() else "cpu")
    parser.add_argument("--json", type=Path, default=Path("layer_memory.json"))
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep the records of --json for other configurations (replace same impl/layers)",
    )
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
    common += ["--chunk-size", str(args.chunk_size)]
    records = []
    if args.append and args.json.exists():
        records = json.loads(args.json.read_text())
    meta = {
        "nodes": args.nodes,
        "degree": args.degree,
        "channels": args.channels,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        # glibc keeps the freed temporaries of deep reversible stacks (DESIGN §4); with
        # MALLOC_MMAP_THRESHOLD_ set, RSS stays low but steps are slower: not timed alike.
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
    }
    for depth in args.layers:
        for impl in args.impls:
            if impl in LAYER and depth != 1:
                continue
            cmd = [sys.executable, __file__, *common, "--worker", impl, str(depth)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if proc.returncode != 0:
                print(f"{impl} at {depth} layers failed:\n{proc.stderr[-2000:]}", flush=True)
                continue
            record = json.loads(proc.stdout.strip().splitlines()[-1])
            record.update(meta)
            records = [r for r in records if (r["impl"], r["layers"]) != (impl, depth)]
            records.append(record)
            print(json.dumps(record), flush=True)
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(records, indent=1) + "\n")
    summary(records)


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


if __name__ == "__main__":
    main()
