"""Memory and time of a training step versus depth: revgnn against PyG, in one run.

For every depth and implementation a fresh Python process builds the model on one synthetic
graph (same seed, same graph everywhere), counts the saved-activation bytes of a forward pass,
measures the peak of one training step (CUDA allocator peak, or peak live tensor bytes on CPU)
and the median time of the following steps, and reports its peak RSS. Implementations:

* ``revgnn``: :class:`revgnn.models.RevGNN`, 2 groups, pre-activation GENConv blocks;
* ``pyg_groupaddrev``: the same block (BatchNorm -> ReLU -> shared dropout -> GENConv) inside
  PyG's ``GroupAddRev``, called in a Python loop as in PyG's ``examples/rev_gnn.py``
  (:func:`revgnn.memory.baselines.pyg_groupaddrev_gnn`, equal parameter count);
* ``revgnn_groupaddrev``: that very model with revgnn's ``GroupAddRev`` swapped in (a PyG
  user's script with its import changed);
* ``pyg_res_plus``: the non-reversible res+ stack of PyG's ``DeepGCNLayer`` (DeeperGCN,
  :class:`revgnn.memory.baselines.PyGDeepGCN`).

The JSON is written after every configuration; the plot needs matplotlib (the ``plot`` extra)
and is skipped with a message without it.

Example (the targets of issue 2)::

    python benchmarks/memory_depth.py --nodes 2000 --degree 20 --channels 64 \
        --layers 7 28 112 448 1001 --json benchmarks/results/memory_depth.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import (
    TABLE_HEADER,
    WORKER_FLAGS,
    address_space_limit,
    has_cuda,
    measure_step,
    run_worker,
    save_plot,
    table_row,
    worker_arguments,
    write_records,
)

IMPLS = ("revgnn", "revgnn_groupaddrev", "pyg_groupaddrev", "pyg_res_plus")
RATIOS = (("peak_bytes", "peak"), ("peak_rss_bytes", "RSS"), ("step_seconds", "step time"))


def build(impl: str, channels: int, num_layers: int, num_classes: int, dropout: float):
    from revgnn import ModelConfig, build_model
    from revgnn.memory.baselines import PyGDeepGCN, pyg_groupaddrev_gnn

    if impl == "revgnn":
        cfg = ModelConfig(
            hidden_channels=channels, num_layers=num_layers, conv="gen", shared_dropout=True,
            conv_options={"aggr": "softmax", "learn_t": True}, norm="batch", dropout=dropout,
            input_dropout=0.0, branch_gate=None,
        )  # fmt: skip
        return build_model(cfg, channels, num_classes)
    if impl in ("pyg_groupaddrev", "revgnn_groupaddrev"):
        from revgnn import GroupAddRev

        return pyg_groupaddrev_gnn(
            channels, channels, num_classes, num_layers, aggr="softmax", learn_t=True,
            dropout=dropout, group_add_rev=GroupAddRev if impl.startswith("revgnn") else None,
        )  # fmt: skip
    return PyGDeepGCN(
        channels, channels, num_classes, num_layers, aggr="softmax", learn_t=True,
        norm="batch", dropout=dropout,
    )  # fmt: skip


def worker(args: argparse.Namespace) -> dict:
    return measure_step(
        lambda: build(args.impl, args.channels, args.num_layers, args.classes, args.dropout), args
    )


def plot(records: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("saved_bytes", "saved activations"), ("peak_bytes", "peak of a step")]
    keys.append(("peak_rss_bytes", "process peak RSS"))
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4))
    for ax, (key, label) in zip(axes, keys):
        for impl in IMPLS:
            rows = sorted(
                (r["layers"], r[key]) for r in records if r["impl"] == impl and r[key] is not None
            )
            if rows:
                ax.plot(*zip(*[(d, b / 2**20) for d, b in rows]), marker="o", label=impl)
        ax.set(xscale="log", yscale="log", xlabel="layers", ylabel="MiB", title=label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


PAIRS = (
    ("revgnn", "pyg_groupaddrev"),
    ("revgnn", "pyg_res_plus"),
    ("revgnn_groupaddrev", "pyg_groupaddrev"),
)


def summary(records: list[dict]) -> None:
    by = {(r["impl"], r["layers"]): r for r in records}
    print(TABLE_HEADER)
    for r in records:
        print(table_row(r))
    for ours in ("revgnn", "revgnn_groupaddrev"):
        depths = sorted({r["layers"] for r in records if r["impl"] == ours and r["saved_bytes"]})
        if len(depths) >= 2:
            lo, hi = by[ours, depths[0]], by[ours, depths[-1]]
            print(
                f"{ours} saved bytes at {depths[-1]} / at {depths[0]} layers: "
                f"{hi['saved_bytes'] / lo['saved_bytes']:.3f}"
            )
    for ours, peer in PAIRS:
        for depth in sorted({r["layers"] for r in records if r["impl"] == ours}):
            if (peer, depth) in by:
                ratios = [
                    f"{label} {by[ours, depth][k] / by[peer, depth][k]:.2f}x"
                    for k, label in RATIOS
                    if by[ours, depth][k] and by[peer, depth][k]
                ]
                print(f"{depth:>5} layers, {ours} vs {peer}: " + ", ".join(ratios))


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
    parser.add_argument("--device", default="cuda" if has_cuda() else "cpu")
    parser.add_argument("--json", type=Path, default=Path("memory_depth.json"))
    parser.add_argument("--png", type=Path, default=None, help="default: --json with .png")
    parser.add_argument("--worker", nargs=2, metavar=("IMPL", "LAYERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        args.impl, args.num_layers = args.worker[0], int(args.worker[1])
        print(json.dumps(worker(args)))
        return

    flags = worker_arguments(args, list(WORKER_FLAGS))
    records = []
    for depth in args.layers:
        for impl in args.impls:
            if impl == "pyg_res_plus" and depth > args.res_plus_max_layers:
                print(f"skip {impl} at {depth} layers (> --res-plus-max-layers)", flush=True)
                continue
            limit = address_space_limit(args.max_memory_gb)
            record = run_worker(__file__, flags, impl, depth, limit)
            records.append(record)
            print(json.dumps(record), flush=True)
            write_records(args.json, records)
    summary(records)
    title = f"N={args.nodes}, K={args.degree}, D={args.channels}, GENConv softmax, {args.device}"
    save_plot(plot, records, args.png or args.json.with_suffix(".png"), title)


if __name__ == "__main__":
    main()
