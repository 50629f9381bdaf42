"""The recipe panel: the library's no-flag default against PyG's baselines on real graphs.

For every dataset of the panel (Cora and CiteSeer with their public splits, Amazon Photo,
Coauthor CS, Tolokers (ROC-AUC), Deezer HU (multi-label ROC-AUC), BlogCatalog) and seed:

* ``default``: ``revgnn train --dataset D`` and no other flag (the root and seed aside);
* ``deep64``: the same with ``--layers 64``;
* ``pyg-gcn2``: a plain PyG 2-layer GCN (hidden 64, dropout 0.5, Adam 0.01, weight decay
  5e-4, 200 epochs, best valid) on the features exactly as PyG's dataset class returns them,
  on the same split (:mod:`pyg_baselines`);
* ``pyg-gcnii``: PyG's GCN2Conv example with GCNII's published recipe (Cora and CiteSeer);
* ``deep64-loss`` (only when named in ``--configs``): ``deep64`` with GCNII's own protocol,
  selecting and stopping on the validation loss (``--select-on loss``).

``--datasets`` also takes graphs beyond the panel (:data:`BEYOND`: Amazon Computers, Coauthor
Physics, Deezer RO), on which the recipe was never measured while it was being chosen; give
them their own ``--json``.

Each revgnn run records its test / valid score (model selection on the validation split),
seconds, peak memory of a training step, epochs, and the longest run of evaluations after
epoch 10 that predicted one class for every validation node (from the per-epoch log). A
memory check trains 2 epochs of the default at 4 and at 64 layers on Cora and compares the
step peaks. ``--json`` is rewritten after every run and an existing one is resumed (runs it
holds are not repeated), so the panel can be filled over several sittings; ``--png`` plots
mean ± std per dataset.

Example (what produced benchmarks/results/recipe_panel.json)::

    OMP_NUM_THREADS=2 python benchmarks/recipe_panel.py --root DATA_ROOT \\
        --json benchmarks/results/recipe_panel.json --png benchmarks/results/recipe_panel.png
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import revgnn_train, save_plot

PANEL = ("cora", "citeseer", "photo", "cs", "tolokers", "deezer-hu", "blogcatalog")
#: Node datasets the loaders read that were not in the panel when the recipe was chosen.
BEYOND = ("computers", "physics", "deezer-ro")
CONFIGS = ("default", "deep64", "pyg-gcn2", "pyg-gcnii")
#: Run only when named: a protocol's variant, about three times the epochs of ``deep64``.
OPTIONAL = ("deep64-loss",)
FLAGS = {
    "default": [],
    "deep64": ["--layers", "64"],
    "deep64-loss": ["--layers", "64", "--select-on", "loss"],
}


def single_class_run(log: Path) -> int:
    """The longest run of evaluations after epoch 10 predicting one class (0 if none)."""
    longest = current = 0
    for line in log.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("epoch", 0) <= 10 or "valid_classes" not in rec:
            continue
        current = current + 1 if rec["valid_classes"] == 1 else 0
        longest = max(longest, current)
    return longest


def revgnn_run(dataset: str, root: str, seed: int, flags: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "epochs.jsonl"
        argv = ["--dataset", dataset, "--root", root, "--seed", str(seed), *flags]
        record = revgnn_train([*argv, "--log", str(log)])
        run = record["per_run"][0]
        return {
            "command": "revgnn train " + " ".join(argv),
            "test": run["test_metric"],
            "valid": run["valid_metric"],
            "seconds": run["seconds"],
            "peak_bytes": run["peak_bytes"],
            "num_params": record["num_params"],
            "epochs": run.get("epochs_run"),
            "best_epoch": run.get("best_epoch"),
            "single_class_evals": single_class_run(log),
            "recipe": record["recipe"],
        }


def pyg_run(config: str, dataset: str, root: str, seed: int) -> dict:
    import pyg_baselines as pyg

    from revgnn.datasets import load_dataset
    from revgnn.datasets.metrics import Scorer

    ds = load_dataset(dataset, root)
    x = pyg.pyg_features(dataset, root, ds.data.x.float())
    multilabel = ds.task == "multilabel"
    y = ds.data.y.float() if multilabel else ds.data.y
    args = (x, ds.data.edge_index, y, ds.split, ds.num_classes, Scorer(ds))
    start = time.perf_counter()
    if config == "pyg-gcn2":
        out = pyg.gcn2(*args, multilabel, seed)
    else:
        out = pyg.gcnii(dataset, *args, seed)
    out["seconds"] = time.perf_counter() - start
    return out


def summary(runs: list[dict]) -> dict:
    tests = [r["test"] for r in runs]
    secs = [r["seconds"] for r in runs]
    out = {
        "seeds": len(runs),
        "test_mean": statistics.mean(tests),
        "test_std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
        "seconds_mean": statistics.mean(secs),
    }
    if "single_class_evals" in runs[0]:
        out["max_single_class_evals"] = max(r["single_class_evals"] for r in runs)
        out["peak_bytes_max"] = max(r["peak_bytes"] for r in runs)
    return out


def memory_check(root: str) -> dict:
    """Step peaks of the default at 4 and 64 layers on Cora (2 epochs each)."""
    out = {}
    for layers in (4, 64):
        rec = revgnn_train(["--root", root, "--layers", str(layers), "--epochs", "2"])
        # Parameters, gradients and Adam's two moments: the model state, fp32.
        state = 4 * 4 * rec["num_params"]
        out[layers] = {"peak_bytes": rec["peak_bytes"], "state_bytes": state}
    four, deep = out[4], out[64]
    out["ratio"] = deep["peak_bytes"] / four["peak_bytes"]
    out["ratio_without_state"] = (deep["peak_bytes"] - deep["state_bytes"]) / max(
        four["peak_bytes"] - four["state_bytes"], 1
    )
    return out


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [d for d in PANEL + BEYOND if d in results["summary"]]
    configs = [c for c in CONFIGS + OPTIONAL if any(c in results["summary"][d] for d in names)]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(configs)
    for i, config in enumerate(configs):
        xs, ys, es = [], [], []
        for j, d in enumerate(names):
            s = results["summary"][d].get(config)
            if s:
                xs.append(j + i * width)
                ys.append(s["test_mean"])
                es.append(s["test_std"])
        if xs:
            ax.bar(xs, ys, width, yerr=es, label=config, capsize=2)
    ax.set_xticks([j + width * (len(configs) - 1) / 2 for j in range(len(names))], names)
    ax.set_ylabel("test metric (acc / ROC-AUC)")
    ax.set_ylim(0.4, 1.0)
    ax.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="the shared data folder")
    p.add_argument("--datasets", nargs="+", default=list(PANEL), choices=PANEL + BEYOND)
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS + OPTIONAL)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--no-memory", action="store_true", help="skip the 4 vs 64 layer check")
    p.add_argument("--json", required=True)
    p.add_argument("--png")
    args = p.parse_args(argv)

    path = Path(args.json)
    results = json.loads(path.read_text()) if path.exists() else {"runs": {}, "summary": {}}

    def save() -> None:
        for d, configs in results["runs"].items():
            results["summary"][d] = {c: summary(list(r.values())) for c, r in configs.items() if r}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(results, indent=1))

    if not args.no_memory and "memory" not in results:
        results["memory"] = memory_check(args.root)
        print(json.dumps({"memory": results["memory"]}), flush=True)
        save()
    for seed in args.seeds:
        for dataset in args.datasets:
            for config in args.configs:
                if config == "pyg-gcnii" and dataset not in ("cora", "citeseer"):
                    continue
                done = results["runs"].setdefault(dataset, {}).setdefault(config, {})
                if str(seed) in done:
                    continue
                if config in FLAGS:
                    run = revgnn_run(dataset, args.root, seed, FLAGS[config])
                else:
                    run = pyg_run(config, dataset, args.root, seed)
                done[str(seed)] = run
                brief = {k: run[k] for k in ("test", "valid", "seconds") if k in run}
                print(json.dumps({"dataset": dataset, "config": config, "seed": seed, **brief}),
                      flush=True)  # fmt: skip
                save()
    save()
    for d, configs in results["summary"].items():
        line = ", ".join(
            f"{c} {s['test_mean']:.4f}±{s['test_std']:.4f} "
            f"({s['seconds_mean']:.0f} s, n={s['seeds']})"
            for c, s in configs.items()
        )
        print(f"{d}: {line}")
    if args.png:
        save_plot(plot, results, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
