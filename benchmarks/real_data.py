"""RevGNN and DeeperGCN on the real datasets of the shared data folder, through the one trainer.

Node tasks (Cora, CiteSeer, Coauthor CS, Amazon Photo, Tolokers, Deezer HU) go through
:func:`revgnn.datasets.load_dataset` and :func:`revgnn.train.leaderboard`, models built by the
CLI's :func:`revgnn.commands.train.build_model` from the CLI's defaults and presets; ogbg-molhiv
goes through :func:`revgnn.graph_train.train_graphs` (OGB's loader and ``Evaluator``), from a
copy of the folder in a temporary directory. Every run is one process-local training with
``OMP_NUM_THREADS`` as set by the caller (1 here: the CPU is shared).

Writes ``--json`` (per run: command, seeds, mean ± std, depth, params, peak memory, seconds)
and ``--markdown`` (a table with a published figure per dataset where one exists).
The CPU budget makes these short runs (few epochs, 1-2 seeds, small depth): the table says
exactly what ran; they are not reproductions of the published protocols.

Example (what produced benchmarks/results/real_data.json)::

    OMP_NUM_THREADS=1 python benchmarks/real_data.py --root /work/shared/data \\
        --json benchmarks/results/real_data.json --markdown /work/notes/issue-6-table.md
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import time
from typing import Any

# Published figures (test metric, %) for the same dataset and metric; the protocols differ
# from these short runs (see "split" in the JSON).
PUBLISHED: dict[str, str] = {
    "cora": "GCN 81.5 acc, public split (Kipf & Welling, ICLR 2017, Table 2)",
    "citeseer": "GCN 70.3 acc, public split (Kipf & Welling, ICLR 2017, Table 2)",
    "cs": "GCN 91.1 ± 0.5 acc, 20 labels/class splits (Shchur et al., 'Pitfalls of GNN "
    "evaluation', 2018, Table 2)",
    "photo": "GCN 91.2 ± 1.2 acc, 20 labels/class splits (Shchur et al. 2018, Table 2)",
    "tolokers": "GCN 83.64 ± 0.67 ROC-AUC, the 10 given splits (Platonov et al., ICLR 2023; "
    "figure quoted from memory, not re-checked offline)",
    "deezer-hu": "none found for 84-label ROC-AUC node classification",
    "ogbg-molhiv": "DeeperGCN 78.58 ± 1.17 ROC-AUC (Li et al. 2020, 7 layers x 256, "
    "10 seeds, 300 epochs)",
}

# name -> (epochs, seeds): what fits ~30 minutes on one core of a CPU shared by several jobs
# (measured here: one training step of the models below takes ~4 s on Amazon Photo and ~45 s
# on Tolokers' 1M edges).
PLAN: dict[str, tuple[int, int]] = {
    "cora": (100, 1),
    "citeseer": (100, 1),
    "photo": (15, 1),
    "cs": (15, 1),
    "tolokers": (4, 1),
    "deezer-hu": (6, 1),
}
MODELS = {
    # RevGNN: 4 reversible GCN blocks x 64, 2 groups (the CLI's Cora preset, or its defaults
    # with conv="gcn", layers=4); DeeperGCN: ResGCN+ 3 x 64 with GENConv's mean aggregation
    # (softmax costs ~4x the time here).
    "revgnn": {"conv": "gcn", "layers": 4},
    "deeper-gcn": {"layers": 3, "aggr": "mean", "norm": "layer", "mlp_layers": 1},
}


def node_runs(args: argparse.Namespace, out: list[dict[str, Any]], save) -> None:
    from revgnn.cli.train import DEFAULTS, PRESETS, build_model
    from revgnn.datasets import load_dataset
    from revgnn.training import TrainConfig, leaderboard

    for name in args.datasets:
        if name == "ogbg-molhiv":
            continue
        epochs, seeds = PLAN[name]
        epochs = max(1, int(epochs * args.epoch_scale))
        dataset = load_dataset(name, args.root)
        print(dataset.describe(), flush=True)
        for model_name, override in MODELS.items():
            s = {**DEFAULTS, **PRESETS.get(name, {}), **override, "model": model_name}
            config = TrainConfig(
                epochs=epochs,
                lr=s["lr"],
                weight_decay=s["weight_decay"],
                weight_decay_on=tuple(n for n in s["weight_decay_on"].split(",") if n),
                grad_clip=s["grad_clip"],
                eval_every=1,
                seed=0,
                progress=False,
            )
            summary = leaderboard(
                lambda s=s, d=dataset: build_model(
                    s["model"], d.num_features, d.num_classes, d.edge_dim, s
                ),
                dataset,
                config,
                seeds,
                name=model_name,
            )
            op = f"--conv {s['conv']}" if model_name == "revgnn" else f"--aggr {s['aggr']}"
            cmd = (
                f"revgnn train --dataset {name} --root {args.root} --model {model_name} "
                f"--layers {s['layers']} --hidden {s['hidden']} {op} --norm {s['norm']} "
                f"--epochs {epochs} --runs {seeds}"
            )
            out.append(_record(name, model_name, summary, s, dataset.split_info, cmd))
            print(json.dumps({k: v for k, v in out[-1].items() if k != "per_run"}), flush=True)
            save()


def molhiv_run(args: argparse.Namespace, out: list[dict[str, Any]], save) -> None:
    import torch

    from revgnn.datasets import load_ogbg
    from revgnn.training import GraphTask, TrainConfig, seed_everything, train

    epochs = max(1, int(args.molhiv_epochs * args.epoch_scale))
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(osp.join(args.root, "ogb", "ogbg_molhiv"), osp.join(tmp, "ogbg_molhiv"))
        ds, split = load_ogbg("ogbg-molhiv", tmp)
        if args.molhiv_subset:  # a seeded subset of the training graphs (CPU budget)
            g = torch.Generator().manual_seed(0)
            train = split["train"]
            split["train"] = train[torch.randperm(len(train), generator=g)[: args.molhiv_subset]]
        sys.path.insert(
            0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), "ogb_examples")
        )
        import ogbg_molhiv  # the example's presets and model builder

        for model_name in ogbg_molhiv.PRESETS:
            flags = ["--preset", model_name, "--hidden", str(args.molhiv_hidden)]
            flags += ["--lr", str(args.molhiv_lr), "--epochs", str(epochs)]
            s = ogbg_molhiv.settings(ogbg_molhiv.parse(["--root", tmp, *flags]))
            seed_everything(0)
            model = ogbg_molhiv.build(s, ds.num_tasks)
            cfg = TrainConfig(epochs=epochs, lr=s["lr"], grad_clip=None, seed=0, progress=False)
            batch_size = ogbg_molhiv.PRESETS[model_name]["batch_size"]
            res = train(model, GraphTask(ds, split, batch_size=batch_size), cfg)
            summary = {
                "runs": 1,
                "test_mean": res.test_metric,
                "test_std": 0.0,
                "valid_mean": res.valid_metric,
                "valid_std": 0.0,
                "num_params": res.num_params,
                "peak_bytes": res.peak_bytes,
                "seconds_mean": res.seconds,
                "per_run": [res.as_dict(history=True)],
            }
            info = "OGB scaffold split" + (
                f"; trained on a seeded subset of {args.molhiv_subset} training graphs"
                if args.molhiv_subset
                else ""
            )
            subset = ["--train-subset", str(args.molhiv_subset)] if args.molhiv_subset else []
            cmd = " ".join(["python ogb_examples/ogbg_molhiv.py --root <copy>", *flags, *subset])
            sizes = {"layers": s["layers"], "hidden": s["hidden"]}
            out.append(_record("ogbg-molhiv", model_name, summary, sizes, info, cmd))
            print(json.dumps({k: v for k, v in out[-1].items() if k != "per_run"}), flush=True)
            save()


def _record(
    name: str, model: str, summary: dict[str, Any], s: dict[str, Any], split: str, cmd: str
) -> dict[str, Any]:
    seeds = list(range(summary["runs"]))
    return {
        "dataset": name,
        "model": model,
        "command": cmd,
        "seeds": seeds,
        "test_mean": summary["test_mean"],
        "test_std": summary["test_std"],
        "valid_mean": summary["valid_mean"],
        "valid_std": summary["valid_std"],
        "depth": s["layers"],
        "hidden": s["hidden"],
        "num_params": summary["num_params"],
        "peak_bytes": summary["peak_bytes"],
        "seconds_per_run": summary["seconds_mean"],
        "epochs": summary["per_run"][0]["epochs"],
        "split": split,
        "published": PUBLISHED[name],
        "per_run": summary["per_run"],
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| dataset | model | depth x width | epochs | seeds | test (mean ± std) | valid | "
        "params | peak tensor memory | s / run | published (cite) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['model']} | {r['depth']} x {r['hidden']} | {r['epochs']} | "
            f"{len(r['seeds'])} | {100 * r['test_mean']:.2f} ± {100 * r['test_std']:.2f} | "
            f"{100 * r['valid_mean']:.2f} | {r['num_params']:,} | "
            f"{r['peak_bytes'] / 2**20:.0f} MiB | {r['seconds_per_run']:.0f} | {r['published']} |"
        )
    cmds = [f"- {r['dataset']} / {r['model']}: `{r['command']}`" for r in rows]
    return (
        "\n".join(lines)
        + "\n\nCommands (equivalent CLI / example invocations):\n\n"
        + ("\n".join(cmds) + "\n")
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", default="/work/shared/data")
    p.add_argument("--datasets", nargs="+", default=[*PLAN, "ogbg-molhiv"])
    p.add_argument("--epoch-scale", type=float, default=1.0, help="multiply every epoch count")
    p.add_argument("--molhiv-epochs", type=int, default=2)
    p.add_argument("--molhiv-hidden", type=int, default=64)
    p.add_argument("--molhiv-lr", type=float, default=1e-3)
    p.add_argument("--molhiv-subset", type=int, default=0, help="training graphs (0: all)")
    p.add_argument("--json", default="benchmarks/results/real_data.json")
    p.add_argument("--markdown")
    p.add_argument(
        "--table-only", action="store_true", help="re-write --markdown from --json, no training"
    )
    args = p.parse_args(argv)
    if args.table_only:
        with open(args.json) as f:
            rows = json.load(f)["results"]
        for r in rows:
            r["published"] = PUBLISHED[r["dataset"]]
        with open(args.markdown, "w") as f:
            f.write(markdown(rows))
        return 0

    rows: list[dict[str, Any]] = []
    started = time.time()

    def save() -> None:
        meta = {
            "argv": sys.argv,
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "wall_seconds": time.time() - started,
        }
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=1)
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write(markdown(rows))

    node_runs(args, rows, save)
    if "ogbg-molhiv" in args.datasets:
        molhiv_run(args, rows, save)
    save()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
