"""``revgnn search``: search a GCN cell with SGAS (Criterion 1 or 2) or DARTS, optionally under
an LC-NAS latency target, on point clouds (a k-NN graph per cell) or on one graph; optionally
train the found cell from scratch.

The search runs on the one training loop, so ``--amp``, ``--checkpoint`` / ``--resume`` (a
killed search resumes to the same genotype), the JSONL log and DDP work as in ``revgnn
train``. The recipe is ``search/sgas`` (or ``--config``): the weights' SGD, the data, the
search's settings; every flag overrides one field.

Writes to ``--out``: ``genotype.json`` (the cell, as data), ``decisions.jsonl`` (one line per
decision: epoch, edge, operation, the criterion's values), ``history.jsonl`` (one line per
epoch: the run's log), ``checkpoint.pt`` (unless ``--checkpoint`` names another file),
``cell.png`` and ``result.json`` (search score, seconds, latencies, evaluation, recipe). The
architecture steps use one half of the training split; validation and test data are read only
by ``--eval-epochs``' retraining (with the recipe's optimisation).
"""

from __future__ import annotations

import argparse
import json
import os.path as osp
from dataclasses import replace
from typing import Any

from revgnn.cli.common import HelpFormatter
from revgnn.config.data import DataConfig
from revgnn.config.flags import add_config_flags, recipe_from_args
from revgnn.config.optim import OptimConfig
from revgnn.config.recipe import Recipe
from revgnn.config.run import RunConfig
from revgnn.config.search import SearchConfig
from revgnn.config.train import TrainConfig
from revgnn.datasets.registry import DATASETS, dataset_kind, load_dataset
from revgnn.nas.eval_network import train_genotype
from revgnn.nas.genotype import plot_cell
from revgnn.nas.latency import LatencyTable, measure_cells
from revgnn.nas.search import search, split_for_search
from revgnn.nas.search_network import SearchNetwork
from revgnn.nn.knn import dilated_knn, neighbors_to_edge_index
from revgnn.training.experiment import adapt_to_data
from revgnn.training.loop import resolve_device
from revgnn.training.node_task import NodeTask
from revgnn.training.point_cloud_task import PointCloudTask
from revgnn.training.seed import seed_everything
from revgnn.utils.paths import check_output_dir, write_atomic
from revgnn.utils.threads import torch_threads

__all__ = ["add_arguments", "run"]

#: The datasets a flag may name, for its help.
NAMES = {"data.dataset": DATASETS.names}

SECTIONS = {"search": SearchConfig, "optim": OptimConfig, "data": DataConfig, "run": RunConfig}
#: Files a finished search leaves in ``--out``.
RESULTS = ("genotype.json", "result.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = HelpFormatter
    add_config_flags(parser, SECTIONS, default_recipe="search/sgas", names_of=NAMES)
    parser.add_argument(
        "--out",
        type=osp.expanduser,
        default="search-out",
        help="output folder (default: search-out)",
    )


def _recipe(args: argparse.Namespace) -> Recipe:
    recipe = recipe_from_args(args)
    run, out = recipe.run, args.out
    check_output_dir(out, "--out")
    done = [f for f in RESULTS if osp.exists(osp.join(out, f))]
    if done and not (run.overwrite or run.resume):
        raise FileExistsError(
            f"--out {out} holds the results of a search ({', '.join(done)}); choose another "
            "folder, pass --resume to continue its run, or --overwrite"
        )
    if "optim.epochs" in recipe.explicit:
        raise ValueError(
            "--epochs is not used by a search (it lasts its warm-up and decisions: --warmup, "
            "--decision-every; --darts-epochs for DARTS)"
        )
    if dataset_kind(recipe.data.dataset) == "node":
        for key in ("search.k", "search.batch_increase"):
            if key in recipe.explicit:
                raise ValueError(
                    f"{args.config_flags[key]} is not used by --dataset {recipe.data.dataset} "
                    "(a graph: its edges are given, it has no clouds)"
                )
    changes: dict[str, Any] = {}
    if run.checkpoint is None:
        changes["checkpoint"] = osp.join(out, "checkpoint.pt")
    if run.log_path is None:
        changes["log_path"] = osp.join(out, "history.jsonl")
    return replace(recipe, run=replace(run, **changes))


def _data(recipe: Recipe) -> dict[str, Any]:
    data, cfg = recipe.data, recipe.search
    kind = dataset_kind(data.dataset)
    if kind not in ("points", "node"):
        raise ValueError(f"--dataset {data.dataset}: a search runs on point clouds or one graph")
    explicit = {k.split(".", 1)[1] for k in recipe.explicit if k.startswith("data.")}
    ds, _ = adapt_to_data(load_dataset(data, explicit=explicit), recipe)
    w, a = split_for_search(ds, recipe.run.seed)
    if kind == "points":
        if ds.task != "classification":
            raise ValueError(
                f"--dataset {data.dataset}: the point search network classifies clouds"
            )
        batch = data.batch_size or 16
        clouds = ds.x[:batch]
        graph = neighbors_to_edge_index(dilated_knn(clouds, cfg.k, 1))
        return {
            "dataset": ds, "features": ds.num_features, "kind": "points",
            "tasks": (PointCloudTask(w, batch), PointCloudTask(a, batch)),
            "eval_task": PointCloudTask(ds, batch),
            "graph": (clouds.size(0) * clouds.size(1), graph),
        }  # fmt: skip
    parts = dict(partition=data.partition, num_parts=data.num_parts)
    return {
        "dataset": ds, "features": ds.num_features, "kind": "nodes",
        "tasks": (NodeTask(w, **parts), NodeTask(a, **parts)), "eval_task": NodeTask(ds),
        "graph": (ds.num_nodes, ds.data.edge_index),
    }  # fmt: skip


def run(args: argparse.Namespace) -> int:
    recipe = _recipe(args)
    if args.print_config:
        print(recipe.to_yaml(), end="")
        return 0
    with torch_threads(recipe.run.threads):
        result = _search(args.out, recipe)
    print(json.dumps({k: v for k, v in result.items() if k not in ("latency_table", "recipe")},
                     indent=1))  # fmt: skip
    return 0


def _search(out: str, recipe: Recipe) -> dict[str, Any]:
    cfg, run = recipe.search, recipe.run
    seed_everything(run.seed)
    d = _data(recipe)
    ds = d["dataset"]
    net = {"channels": cfg.channels, "num_cells": cfg.cells, "task": d["kind"]}
    if d["kind"] == "points":
        net["k"] = cfg.k
    model = SearchNetwork(d["features"], ds.num_classes, **net)
    train_cfg = TrainConfig.of(recipe.optim, run)
    print(f"{recipe.data.dataset}: searching {model} by {cfg.method}"
          + (f" (criterion {cfg.criterion})" if cfg.method == "sgas" else ""))  # fmt: skip
    num_nodes, graph = d["graph"]
    table = None
    if cfg.latency_target is not None:
        device = resolve_device(train_cfg.device)
        table = LatencyTable.measure(num_nodes, cfg.channels, graph, cfg.cells, device)
        print("latency table (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in table.ops.items()))
    res = search(model, *d["tasks"], cfg, train_cfg, latency=table)
    res.genotype.save(osp.join(out, "genotype.json"))
    write_atomic(
        osp.join(out, "decisions.jsonl"), "".join(json.dumps(x) + "\n" for x in res.decisions)
    )
    plot_cell(res.genotype, osp.join(out, "cell.png"),
              f"{cfg.method} on {recipe.data.dataset}: {res.genotype}")  # fmt: skip
    print(f"found {res.genotype} | search score {res.score:.4f} | {res.seconds:.0f} s")
    summary: dict[str, Any] = {
        "dataset": recipe.data.dataset, "method": cfg.method,
        "criterion": cfg.criterion if cfg.method == "sgas" else None, "seed": run.seed,
        "genotype": str(res.genotype), "search_score": res.score,
        "search_seconds": res.seconds, "search_epochs": cfg.total_epochs,
    }  # fmt: skip
    if table is not None:
        measured = measure_cells(res.genotype, num_nodes, cfg.channels, graph, cfg.cells,
                                 resolve_device(train_cfg.device))  # fmt: skip
        summary.update(
            latency_target_ms=cfg.latency_target, expected_latency_ms=res.expected_latency,
            measured_latency_ms=measured, latency_table=table.to_dict(),
        )  # fmt: skip
    if cfg.eval_epochs:
        summary["eval"] = _evaluate(res.genotype, d, ds, net, recipe)
    summary["recipe"] = recipe.to_dict()
    write_atomic(osp.join(out, "result.json"), json.dumps(summary, indent=1) + "\n")
    return summary


def _evaluate(
    genotype: Any, d: dict[str, Any], ds: Any, net: dict[str, Any], recipe: Recipe
) -> dict:
    cfg = recipe.search
    eval_cfg = TrainConfig.of(
        recipe.optim, recipe.run, epochs=cfg.eval_epochs, checkpoint=None, resume=False,
        missing_ok=False, log_path=None, eval_every=max(1, cfg.eval_epochs // 5),
    )  # fmt: skip
    network = {**net, "channels": cfg.eval_channels, "num_cells": cfg.eval_cells}
    trained = train_genotype(genotype, d["eval_task"], d["features"], ds.num_classes, eval_cfg,
                             network)  # fmt: skip
    return {"valid": trained.valid_metric, "test": trained.test_metric,
            "metric": trained.metric, "epochs": cfg.eval_epochs}  # fmt: skip
