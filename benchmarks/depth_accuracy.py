"""Accuracy versus depth: RevGNN through ``revgnn train``'s own defaults, changing only
``--dataset`` and ``--layers``, on real graphs; one run, JSON + PNG.

For each dataset and depth a fresh process runs ``revgnn train --dataset D --layers L --runs
S`` (the library's default recipe, adapted to the graph and the depth), and records the mean
± std of the test and valid scores at the best-valid epoch, the seconds per epoch, the
parameter count and the peak bytes of a training step (on CPU the live tensors of the profiled
epoch; ``state_bytes`` = 16 bytes a parameter for the weights, their gradients and Adam's two
moments, so ``peak_bytes - state_bytes`` is what depth must not grow). Cora and CiteSeer use
their public Planetoid splits, the others a seeded 60/20/20 split.

    python benchmarks/depth_accuracy.py --root DATA --datasets cora citeseer photo cs \\
        --depths 4 16 64 112 --seeds 3 --extra cora:448 \\
        --json benchmarks/results/depth_accuracy.json

``DATA`` is a folder in the layouts of :mod:`revgnn.datasets` (``planetoid/``, ``amazon/``,
``coauthor/``); Cora also loads from the copy inside the package.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import revgnn_train, save_plot


def worker(args: argparse.Namespace) -> dict:
    """``revgnn train --dataset D --layers L --runs S``, in this process; its JSON record."""
    argv = ["--dataset", args.dataset, "--layers", str(args.layers)]
    argv += ["--runs", str(args.seeds), "--threads", "1"]
    if args.root and args.dataset != "cora":
        argv += ["--root", args.root]
    argv += ["--epochs", str(args.epochs)] if args.epochs else []
    summary = revgnn_train(argv)
    params = summary["num_params"]
    runs = summary["per_run"]
    return {
        "dataset": args.dataset,
        "layers": args.layers,
        "seeds": args.seeds,
        "command": "revgnn train " + " ".join(argv),
        "metric": summary["metric"],
        "test_mean": summary["test_mean"],
        "test_std": summary["test_std"],
        "valid_mean": summary["valid_mean"],
        "valid_std": summary["valid_std"],
        "tests": [r["test_metric"] for r in runs],
        "best_epochs": [r["best_epoch"] for r in runs],
        "seconds_per_epoch": sum(r["seconds"] / r["epochs_run"] for r in runs) / len(runs),
        "num_params": params,
        "peak_bytes": summary["peak_bytes"],
        "state_bytes": 16 * params,
        "recipe": summary["recipe"],
        "split": summary["split"],
    }


def plot(records: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["dataset"] for r in records))
    # a curve needs two depths: a dataset measured at one depth is in the JSON only
    names = [n for n in names if sum(r["dataset"] == n for r in records) > 1]
    if not names:
        print("no plot: no dataset was measured at two depths", flush=True)
        return
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        rs = sorted((r for r in records if r["dataset"] == name), key=lambda r: r["layers"])
        depths = [r["layers"] for r in rs]
        ax.errorbar(
            depths,
            [100 * r["test_mean"] for r in rs],
            yerr=[100 * r["test_std"] for r in rs],
            marker="o",
            capsize=3,
            label="test accuracy",
        )
        ax.set_xscale("log")
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.set_xlabel("layers")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{name} ({rs[0]['seeds']} seeds)")
        mem = ax.twinx()
        mem.plot(
            depths,
            [(r["peak_bytes"] - r["state_bytes"]) / 2**20 for r in rs],
            "s--",
            color="tab:gray",
            label="peak minus model state",
        )
        mem.set_ylabel("MiB (peak of a step minus model state)")
        low = min(100 * (r["test_mean"] - r["test_std"]) for r in rs)
        ax.set_ylim(max(0.0, low - 5), 100 * max(r["test_mean"] + r["test_std"] for r in rs) + 2)
        mem.set_ylim(0, max((r["peak_bytes"] - r["state_bytes"]) / 2**20 for r in rs) * 1.6)
    axes[0][0].legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", help="data folder (Cora: the bundled copy)")
    parser.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    parser.add_argument("--depths", type=int, nargs="+", default=[4, 16, 64, 112])
    parser.add_argument("--extra", nargs="*", default=[], help="DATASET:LAYERS, e.g. cora:448")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=0, help="0: revgnn train's default")
    parser.add_argument("--json", type=Path, default=Path("depth_accuracy.json"))
    parser.add_argument("--worker", nargs=2, metavar=("DATASET", "LAYERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.dataset, args.layers = args.worker[0], int(args.worker[1])
        print(json.dumps(worker(args)), flush=True)
        return
    runs = [(d, n) for d in args.datasets for n in args.depths]
    runs += [(e.split(":")[0], int(e.split(":")[1])) for e in args.extra]
    records = []
    if args.json.exists():  # a rerun keeps what was measured and runs what is missing
        records = json.loads(args.json.read_text())["records"]
    done = {(r["dataset"], r["layers"]) for r in records}
    for dataset, layers in runs:
        if (dataset, layers) in done:
            continue
        cmd = [sys.executable, __file__, "--seeds", str(args.seeds), "--epochs", str(args.epochs)]
        cmd += ["--root", args.root] if args.root else []
        cmd += ["--worker", dataset, str(layers)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{dataset} at {layers} layers failed: {proc.stderr.strip()[-500:]}", flush=True)
            continue
        records.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = records[-1]
        print(
            f"{dataset:>9} {layers:>4} layers: test {100 * r['test_mean']:.1f} ± "
            f"{100 * r['test_std']:.1f} ({r['seconds_per_epoch']:.2f} s/epoch, peak "
            f"{r['peak_bytes'] / 2**20:.1f} MiB, state {r['state_bytes'] / 2**20:.1f} MiB)",
            flush=True,
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"records": records}, indent=1) + "\n")
    save_plot(plot, records, args.json.with_suffix(".png"))


if __name__ == "__main__":
    main()
