"""Memory-lean softmax aggregation against the plain path and PyG, one layer and deep stacks.

For every implementation and depth a fresh Python process builds the model on one synthetic
graph (same seed, same graph everywhere), counts the saved-activation bytes of a forward pass,
times the following steps, reports its peak RSS (read before the profiled step: the profiler's
own records are not in it) and measures the peak of one training step (CUDA allocator peak, or
peak live tensor bytes on CPU). GENConv with softmax aggregation and a
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
from pathlib import Path

from common import (
    TABLE_HEADER,
    WORKER_FLAGS,
    has_cuda,
    measure_step,
    run_worker,
    table_row,
    worker_arguments,
    write_records,
)

REVERSIBLE = ("revgnn_lean", "revgnn_lean_chunked", "revgnn_plain", "pyg_groupaddrev")
LAYER = ("layer_lean", "layer_plain", "pyg_layer")
IMPLS = REVERSIBLE + LAYER


def build(impl: str, channels: int, num_layers: int, num_classes: int, args: argparse.Namespace):
    from torch_geometric.nn import GENConv as PygGENConv

    from revgnn import GENConv, ModelConfig, build_model
    from revgnn.memory.baselines import PreActStack

    if impl in ("revgnn_lean", "revgnn_lean_chunked", "revgnn_plain"):
        options = {"aggr": "softmax", "learn_t": True, "lean": impl != "revgnn_plain"}
        if impl == "revgnn_lean_chunked":
            options["chunk_size"] = args.chunk_size
        cfg = ModelConfig(
            hidden_channels=channels, num_layers=num_layers, conv="gen", shared_dropout=True,
            conv_options=options, norm="batch", dropout=args.dropout, input_dropout=0.0,
            branch_gate=None,
        )  # fmt: skip
        return build_model(cfg, channels, num_classes)

    def conv(c: int):
        if impl in ("pyg_groupaddrev", "pyg_layer"):
            return PygGENConv(c, c, aggr="softmax", learn_t=True, norm="batch", bias=True)
        return GENConv(c, c, "softmax", learn_t=True, norm="batch", lean=impl == "layer_lean")

    mode = "groupaddrev" if impl == "pyg_groupaddrev" else "residual"
    return PreActStack(
        conv, channels, channels, num_classes, num_layers, mode=mode, dropout=args.dropout
    )


def worker(args: argparse.Namespace) -> dict:
    record = measure_step(
        lambda: build(args.impl, args.channels, args.num_layers, args.classes, args), args
    )
    record["chunk_size"] = args.chunk_size if args.impl == "revgnn_lean_chunked" else None
    return record


def summary(records: list[dict]) -> dict:
    """Print the table and the ratios the targets are about; returns the ratios."""
    by = {(r["impl"], r["layers"]): r for r in records}
    print(TABLE_HEADER)
    for r in records:
        print(table_row(r))
    ratios = {}
    for depth in sorted({r["layers"] for r in records}):
        row = {}
        plain, pyg = by.get(("revgnn_plain", depth)), by.get(("pyg_groupaddrev", depth))
        for impl in ("revgnn_lean", "revgnn_lean_chunked"):
            lean = by.get((impl, depth))
            if lean and pyg:
                if lean["peak_bytes"] and pyg["peak_bytes"]:
                    row[f"peak_{impl}_over_pyg"] = lean["peak_bytes"] / pyg["peak_bytes"]
                if lean.get("malloc_mmap_threshold") == pyg.get("malloc_mmap_threshold"):
                    rss = lean["peak_rss_bytes"] / pyg["peak_rss_bytes"]
                    row[f"rss_{impl}_over_pyg"] = rss
            if lean and plain:
                if lean["peak_bytes"] and plain["peak_bytes"]:
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
    parser.add_argument("--device", default="cuda" if has_cuda() else "cpu")
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

    flags = worker_arguments(args, [*WORKER_FLAGS, "chunk_size"])
    records = []
    if args.append and args.json.exists():
        records = json.loads(args.json.read_text())
    meta = {
        "nodes": args.nodes,
        "degree": args.degree,
        "channels": args.channels,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        # glibc keeps the freed temporaries of deep reversible stacks (docs/memory.md); with
        # MALLOC_MMAP_THRESHOLD_ set, RSS stays low but steps are slower: not timed alike.
        "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
    }
    for depth in args.layers:
        for impl in args.impls:
            if impl in LAYER and depth != 1:
                continue
            record = run_worker(__file__, flags, impl, depth)
            record.update(meta)
            records = [r for r in records if (r["impl"], r["layers"]) != (impl, depth)]
            records.append(record)
            print(json.dumps(record), flush=True)
            write_records(args.json, records)
    summary(records)


if __name__ == "__main__":
    main()
