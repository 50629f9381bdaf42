"""``revgnn search``: search a GCN cell with SGAS (Criterion 1 or 2) or DARTS, optionally under an
LC-NAS latency target, on point clouds (a k-NN graph per cell) or on one graph; optionally
train the found cell from scratch.

Writes to ``--out``: ``genotype.json`` (the cell, as data), ``decisions.jsonl`` (one line per
decision: epoch, edge, operation, the criterion's values), ``history.jsonl`` (one line per
epoch), ``cell.png`` and ``result.json`` (search score, seconds, latencies, evaluation).
The architecture steps use one half of the training split; validation and test data are
read only by ``--eval-epochs``' retraining.
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
from typing import Any

import torch

from revgnn.cli.train import HelpFormatter, write_text
from revgnn.datasets.point_clouds import POINT_DATASETS, load_point_clouds
from revgnn.datasets.registry import DATASETS, load_dataset
from revgnn.nas.eval_network import train_genotype
from revgnn.nas.genotype import plot_cell
from revgnn.nas.latency import LatencyTable, measure_cells
from revgnn.nas.search import METHODS, SearchConfig, search, split_for_search
from revgnn.nas.search_network import SearchNetwork
from revgnn.nn.knn import dilated_knn, neighbors_to_edge_index
from revgnn.training import TrainConfig, seed_everything
from revgnn.training.node_task import NodeTask
from revgnn.training.point_cloud_task import PointCloudTask

__all__ = ["add_arguments", "run"]

#: Flags that only a point-cloud search uses.
POINT_FLAGS = ("k", "num_points", "num_clouds", "batch_size", "batch_increase")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = HelpFormatter
    parser.add_argument(
        "--dataset",
        default="synthetic-textures",
        help="a point-cloud classification set (synthetic-textures, modelnet40, ...) or a node "
        "dataset (cora, citeseer, ...)",
    )
    parser.add_argument("--root", help="data folder (datasets that are not bundled)")
    parser.add_argument(
        "--method", choices=METHODS, default="sgas", help="greedy decisions, or DARTS' argmax"
    )
    parser.add_argument("--criterion", type=int, choices=(1, 2), help="SGAS criterion (default 2)")
    parser.add_argument("--cells", type=int, default=2, help="cells of the search network")
    parser.add_argument("--channels", type=int, default=16, help="width of a cell's nodes")
    parser.add_argument("--k", type=int, help="neighbours of the k-NN graphs (default 9)")
    parser.add_argument("--num-points", type=int, help="points per cloud (default 256)")
    parser.add_argument("--num-clouds", type=int, help="size of a synthetic set (default 600)")
    parser.add_argument("--batch-size", type=int, help="clouds per step (default 16)")
    parser.add_argument("--batch-increase", type=int, help="clouds added per decision (default 0)")
    parser.add_argument("--parts", type=int, help="graphs: random parts per epoch (default 2)")
    parser.add_argument("--warmup", type=int, default=9, help="epochs before the first decision")
    parser.add_argument("--decision-every", type=int, default=7, help="epochs between decisions")
    parser.add_argument("--epochs", type=int, help="DARTS only: epochs (default: SGAS's)")
    parser.add_argument("--lr", type=float, default=0.005, help="weights' SGD learning rate")
    parser.add_argument("--arch-lr", type=float, default=3e-4, help="architecture's Adam rate")
    parser.add_argument(
        "--latency-target", type=float, help="LC-NAS: target latency of the cells, ms"
    )
    parser.add_argument(
        "--latency-weight", type=float, help="LC-NAS: weight of the hinge (default 1)"
    )
    parser.add_argument("--eval-epochs", type=int, default=0, help="retrain the found cell (0: no)")
    parser.add_argument("--eval-cells", type=int, default=3, help="cells of the evaluation network")
    parser.add_argument("--eval-channels", type=int, default=32, help="its width")
    parser.add_argument("--out", default="search-out", help="output folder")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the results of a search in --out"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and the search")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ...")
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )


def _check(args: argparse.Namespace, points: bool) -> None:
    if args.method == "darts" and args.criterion is not None:
        raise ValueError("--criterion is SGAS's; --method darts takes its argmax at the end")
    if args.latency_weight is not None and args.latency_target is None:
        raise ValueError("--latency-weight needs --latency-target")
    if not points:
        for name in POINT_FLAGS:
            if getattr(args, name) is not None:
                raise ValueError(
                    f"--{name.replace('_', '-')} is for point-cloud datasets; "
                    f"{args.dataset!r} is a graph"
                )
    if args.num_clouds is not None and not args.dataset.startswith("synthetic"):
        raise ValueError("--num-clouds sets the size of a synthetic set only")
    if points and args.parts is not None:
        raise ValueError(f"--parts is for graphs; {args.dataset!r} is a point-cloud dataset")
    if osp.exists(osp.join(args.out, "genotype.json")) and not args.overwrite:
        raise FileExistsError(
            f"--out {args.out} holds the results of a search; choose another folder or pass "
            "--overwrite"
        )
    for name in ("cells", "channels", "eval_cells", "eval_channels", "parts"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}={getattr(args, name)} must be >= 1")


def _data(args: argparse.Namespace, points: bool) -> dict[str, Any]:
    if points:
        options = (
            {"num_clouds": args.num_clouds or 600} if args.dataset.startswith("synthetic") else {}
        )
        ds = load_point_clouds(
            args.dataset, args.root, num_points=args.num_points or 256, seed=args.seed, **options
        )
        if ds.task != "classification":
            raise ValueError(
                f"--dataset {args.dataset}: the point search network classifies clouds"
            )
        batch = args.batch_size or 16
        w, a = split_for_search(ds, args.seed)
        clouds = ds.x[:batch]
        graph = neighbors_to_edge_index(dilated_knn(clouds, args.k or 9, 1))
        return {
            "dataset": ds,
            "tasks": (PointCloudTask(w, batch), PointCloudTask(a, batch)),
            "eval_task": PointCloudTask(ds, batch),
            "features": ds.num_features,
            "kind": "points",
            "graph": (clouds.size(0) * clouds.size(1), graph),
        }
    ds = load_dataset(args.dataset, args.root)
    w, a = split_for_search(ds, args.seed)
    return {
        "dataset": ds,
        "tasks": (NodeTask(w, "random", args.parts or 2), NodeTask(a, "random", args.parts or 2)),
        "eval_task": NodeTask(ds),
        "features": ds.data.x.size(1),
        "kind": "nodes",
        "graph": (ds.num_nodes, ds.data.edge_index),
    }


def run(args: argparse.Namespace) -> int:
    points = args.dataset in POINT_DATASETS
    if not points and args.dataset not in DATASETS:
        known = ", ".join(sorted([*POINT_DATASETS, *DATASETS]))
        raise ValueError(f"--dataset {args.dataset!r} is not one of {known}")
    _check(args, points)
    config = SearchConfig(
        method=args.method,
        criterion=args.criterion or 2,
        warmup=args.warmup,
        decision_every=args.decision_every,
        epochs=args.epochs,
        lr=args.lr,
        arch_lr=args.arch_lr,
        batch_increase=args.batch_increase or 0,
        latency_target=args.latency_target,
        latency_weight=args.latency_weight if args.latency_weight is not None else 1.0,
        seed=args.seed,
        device=args.device,
    )
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        result = _search(args, config, points)
    finally:
        torch.set_num_threads(threads)
    print(json.dumps({k: v for k, v in result.items() if k != "latency_table"}, indent=1))
    return 0


def _search(args: argparse.Namespace, config: SearchConfig, points: bool) -> dict[str, Any]:
    seed_everything(args.seed)
    d = _data(args, points)
    ds = d["dataset"]
    net = {"channels": args.channels, "num_cells": args.cells, "task": d["kind"]}
    if points:
        net["k"] = args.k or 9
    model = SearchNetwork(d["features"], ds.num_classes, **net)
    print(
        f"{args.dataset}: searching {model} by {args.method}"
        + (f" (criterion {config.criterion})" if args.method == "sgas" else "")
    )
    num_nodes, graph = d["graph"]
    table = None
    if args.latency_target is not None:
        table = LatencyTable.measure(num_nodes, args.channels, graph, args.cells, args.device)
        print("latency table (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in table.ops.items()))
    res = search(model, *d["tasks"], config, table, say=print, progress=args.progress)
    out = args.out
    os.makedirs(out, exist_ok=True)
    res.genotype.save(osp.join(out, "genotype.json"))
    write_text(
        osp.join(out, "decisions.jsonl"), "".join(json.dumps(x) + "\n" for x in res.decisions)
    )
    write_text(osp.join(out, "history.jsonl"), "".join(json.dumps(x) + "\n" for x in res.history))
    plot_cell(
        res.genotype, osp.join(out, "cell.png"), f"{args.method} on {args.dataset}: {res.genotype}"
    )
    summary: dict[str, Any] = {
        "dataset": args.dataset,
        "method": args.method,
        "criterion": config.criterion if args.method == "sgas" else None,
        "seed": args.seed,
        "genotype": str(res.genotype),
        "search_score": res.score,
        "search_seconds": res.seconds,
        "search_epochs": len(res.history),
    }
    if table is not None:
        measured = measure_cells(
            res.genotype, num_nodes, args.channels, graph, args.cells, args.device
        )
        summary.update(
            latency_target_ms=args.latency_target,
            expected_latency_ms=res.expected_latency,
            measured_latency_ms=measured,
            latency_table=table.to_dict(),
        )
    if args.eval_epochs:
        trained = train_genotype(
            res.genotype,
            d["eval_task"],
            d["features"],
            ds.num_classes,
            TrainConfig(
                epochs=args.eval_epochs,
                lr=1e-3 if points else 0.01,
                seed=args.seed,
                device=args.device,
                progress=args.progress,
                eval_every=max(1, args.eval_epochs // 5),
            ),
            {**net, "channels": args.eval_channels, "num_cells": args.eval_cells},
        )
        summary["eval"] = {
            "valid": trained.valid_metric,
            "test": trained.test_metric,
            "metric": trained.metric,
            "epochs": args.eval_epochs,
        }
    write_text(osp.join(out, "result.json"), json.dumps(summary, indent=1) + "\n")
    return summary
