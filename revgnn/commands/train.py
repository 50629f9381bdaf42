"""``revgnn train``: train a model on a dataset with :func:`revgnn.train.train`.

With no arguments: a RevGNN on the Cora shipped inside the package (public Planetoid split),
one seed, ending with the test accuracy and the peak memory. Every flag left unset takes
the dataset's preset (:data:`PRESETS`), then the general default.

Launched by ``torchrun --nproc_per_node=P revgnn train ...`` the training is data-parallel
(see :func:`revgnn.train.train`); rank 0 alone prints and writes ``--json`` /
``--markdown`` / ``--log`` / ``--checkpoint``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import os.path as osp
import sys
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from revgnn.datasets import DATASET_NAMES, NodeDataset, load_dataset
from revgnn.train import (
    TrainConfig,
    TrainResult,
    leaderboard,
    leaderboard_markdown,
    seed_everything,
    train,
)

MODELS = {
    "revgnn": "RevGNN",
    "wt-revgnn": "RevGNN",
    "deq-gnn": "DEQGNN",
    "deeper-gcn": "DeeperGCN",
}

# General defaults, then per-dataset presets that override them.
DEFAULTS: dict[str, Any] = {
    "model": "revgnn",
    "hidden": 64,
    "layers": 8,
    "groups": 2,
    "conv": "gen",
    "aggr": "softmax",
    "t": 1.0,
    "learn_t": True,
    "heads": 1,
    "mlp_layers": 1,
    "norm": "layer",
    "dropout": 0.5,
    "input_dropout": 0.5,
    "epochs": 200,
    "lr": 0.01,
    "weight_decay": 5e-4,
    "weight_decay_on": "",
    "grad_clip": 1.0,
    "partition": "full",
    "parts": 1,
    "eval_parts": 1,
    "eval_views": 1,
    "threads": 0,
}
PRESETS: dict[str, dict[str, Any]] = {
    # The main job: a reversible GCN-block RevGNN with GCN's regularisation (Kipf & Welling:
    # weight decay 5e-4 on the first layer only, strong input dropout). Chosen on the
    # validation set; see the notes of issue 2 for the alternatives measured.
    "cora": {
        "layers": 4,
        "conv": "gcn",
        "norm": "layer",
        "dropout": 0.5,
        "input_dropout": 0.8,
        "weight_decay_on": "node_encoder",
        # Cora's tensors are too small for intra-op threads to pay; on a shared machine
        # OpenMP threads then spin against other processes (measured: 60 s with one
        # thread, 720 s with two on a loaded 2-core machine).
        "threads": 1,
    },
    # RevGNN-Deep of the paper (Table 1): 1001 layers x 80 channels, 2 groups, max
    # aggregation, BatchNorm, dropout 0.1, lr 1e-3, 10 random parts per epoch, evaluation
    # on 5 parts, 2000 epochs.
    "ogbn-proteins": {
        "hidden": 80,
        "layers": 1001,
        "aggr": "max",
        "learn_t": False,
        "mlp_layers": 2,
        "norm": "batch",
        "dropout": 0.1,
        "input_dropout": 0.0,
        "epochs": 2000,
        "lr": 1e-3,
        "weight_decay": 0.0,
        "partition": "random",
        "parts": 10,
        "eval_parts": 5,
    },
}
PRESETS["citeseer"] = PRESETS["cora"]
PRESETS["synthetic-proteins"] = {**PRESETS["ogbn-proteins"], "layers": 8, "epochs": 50}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.epilog = (
        "Unset model and optimisation flags take the dataset's preset, else these defaults: "
        + ", ".join(f"{k}={v}" for k, v in DEFAULTS.items())
        + ". Presets: "
        + "; ".join(f"{name}: {p}" for name, p in PRESETS.items())
    )
    data = parser.add_argument_group("data")
    data.add_argument("--dataset", default="cora", choices=DATASET_NAMES)
    data.add_argument("--root", help="data folder (real and OGB datasets)")
    data.add_argument("--download", action="store_true", help="OGB: download if missing")
    data.add_argument("--split-seed", type=int, default=0, help="seed of random splits")
    data.add_argument("--nodes", type=int, default=2000, help="synthetic graphs: nodes")
    data.add_argument("--degree", type=float, default=20.0, help="synthetic: average degree")
    data.add_argument("--proteins-node-features", choices=("sum", "mean"), default="sum")
    data.add_argument("--species", action="store_true", help="proteins: species one-hot")

    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=tuple(MODELS), default=None)
    model.add_argument("--hidden", type=int, default=None)
    model.add_argument("--layers", type=int, default=None)
    model.add_argument("--groups", type=int, default=None)
    model.add_argument("--conv", default=None, help="block convolution (RevGNN: gen, gcn, ...)")
    model.add_argument("--aggr", default=None, help="GENConv aggregation")
    model.add_argument("--t", type=float, default=None, help="initial softmax temperature")
    model.add_argument(
        "--learn-t", action=argparse.BooleanOptionalAction, default=None, help="learn softmax t"
    )
    model.add_argument("--heads", type=int, default=None, help="GAT attention heads (RevGAT)")
    model.add_argument("--mlp-layers", type=int, default=None)
    model.add_argument("--norm", default=None, help="batch | layer | ...")
    model.add_argument("--dropout", type=float, default=None)
    model.add_argument("--input-dropout", type=float, default=None)

    opt = parser.add_argument_group("training")
    opt.add_argument("--epochs", type=int, default=None)
    opt.add_argument("--lr", type=float, default=None)
    opt.add_argument("--weight-decay", type=float, default=None)
    opt.add_argument(
        "--weight-decay-on",
        default=None,
        help="comma-separated submodules that get weight decay (empty: all parameters)",
    )
    opt.add_argument("--grad-clip", type=float, default=None, help="0 disables")
    opt.add_argument("--amp", choices=("bf16", "fp16"), default=None)
    opt.add_argument("--eval-every", type=int, default=1)
    opt.add_argument("--partition", choices=("full", "random", "metis"), default=None)
    opt.add_argument("--parts", type=int, default=None, help="training parts per epoch")
    opt.add_argument("--eval-parts", type=int, default=None)
    opt.add_argument("--eval-views", type=int, default=None)
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--runs", type=int, default=1, help="seeds for a leaderboard entry")
    opt.add_argument("--threads", type=int, default=None, help="torch CPU threads (0: torch's)")
    opt.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    opt.add_argument("--memory-every", type=int, default=0, help="CPU peak profiling period")

    out = parser.add_argument_group("output")
    out.add_argument("--checkpoint", help="checkpoint file (written atomically)")
    out.add_argument("--checkpoint-every", type=int, default=10)
    out.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    out.add_argument("--log", help="JSONL file, one line per epoch")
    out.add_argument("--json", help="write the final metrics here")
    out.add_argument("--markdown", help="write the leaderboard table here")
    out.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    """The effective settings: explicit flags, else the dataset preset, else the default."""
    preset = PRESETS.get(args.dataset, {})
    settings = {}
    for key, default in DEFAULTS.items():
        value = getattr(args, key)
        settings[key] = value if value is not None else preset.get(key, default)
    return settings


def model_class(name: str) -> type[nn.Module]:
    """The class behind ``--model name``, looked up in :mod:`revgnn.models` when needed."""
    models = importlib.import_module("revgnn.models")
    cls = getattr(models, MODELS[name], None)
    if cls is None:
        raise ValueError(
            f"--model {name}: revgnn.models has no {MODELS[name]} in this installation"
        )
    return cls


def build_model(name: str, dataset: NodeDataset, s: dict[str, Any]) -> nn.Module:
    """Build ``--model name`` for ``dataset``; passes each setting the constructor takes."""
    cls = model_class(name)
    wanted = {
        "num_groups": s["groups"],
        "edge_dim": dataset.edge_dim,
        "conv": s["conv"],
        "aggr": s["aggr"],
        "t": s["t"],
        "learn_t": s["learn_t"],
        "heads": s["heads"],
        "mlp_layers": s["mlp_layers"],
        "norm": s["norm"],
        "dropout": s["dropout"],
        "input_dropout": s["input_dropout"],
    }
    if name == "wt-revgnn":
        wanted["weight_tied"] = True
    params = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in wanted.items() if k in params}
    return cls(dataset.num_features, s["hidden"], dataset.num_classes, s["layers"], **kwargs)


def _check_world_size(s: dict[str, Any], world: int) -> None:
    # Under torchrun each process takes every world-th batch of an epoch: say so before
    # the data and model are built on every rank.
    if world > 1 and (s["partition"] == "full" or s["parts"] % world != 0):
        raise ValueError(
            f"--partition {s['partition']} --parts {s['parts']} cannot be shared by "
            f"{world} processes: use --partition random or metis with --parts a multiple of "
            f"{world} (full-batch training does not split)"
        )


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def run(args: argparse.Namespace) -> int:
    try:
        dataset = load_dataset(
            args.dataset,
            args.root,
            download=args.download,
            split_seed=args.split_seed,
            num_nodes=args.nodes,
            avg_degree=args.degree,
            proteins_node_features=args.proteins_node_features,
            species=args.species,
        )
        s = resolve(args)
        config = TrainConfig(
            epochs=s["epochs"],
            lr=s["lr"],
            weight_decay=s["weight_decay"],
            weight_decay_on=tuple(n for n in s["weight_decay_on"].split(",") if n),
            grad_clip=s["grad_clip"] or None,
            amp=args.amp,
            eval_every=args.eval_every,
            partition=s["partition"],
            num_parts=s["parts"],
            eval_parts=s["eval_parts"],
            eval_views=s["eval_views"],
            seed=args.seed,
            device=args.device,
            checkpoint=args.checkpoint,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
            log_path=args.log,
            progress=not args.no_progress,
            memory_every=args.memory_every,
            metis_cache=osp.join(args.root, "metis_cache") if args.root else None,
        )
        model_class(s["model"])  # fail before training when the model is missing
        _check_world_size(s, int(os.environ.get("WORLD_SIZE", "1")))
    except (ValueError, FileNotFoundError) as e:
        print(f"revgnn train: error: {e}", file=sys.stderr)
        return 2

    threads = torch.get_num_threads()
    if s["threads"] > 0:
        torch.set_num_threads(s["threads"])
    try:
        return _train_and_report(args, dataset, s, config)
    finally:  # run() is also called in-process (tests, notebooks)
        torch.set_num_threads(threads)
        if dist.is_available() and dist.is_initialized():  # joined in train() under torchrun
            dist.destroy_process_group()


def _train_and_report(
    args: argparse.Namespace, dataset: NodeDataset, s: dict[str, Any], config: TrainConfig
) -> int:
    # torchrun's RANK: only rank 0 reports (the process group is joined later, in train()).
    main = int(os.environ.get("RANK", "0")) == 0
    say = print if main else lambda *a, **k: None
    say(dataset.describe())
    seed_everything(args.seed)
    example = build_model(s["model"], dataset, s)
    say(f"model: {example!r}")
    metric = dataset.metric
    if args.runs > 1:

        def report(r: int, res: TrainResult) -> None:
            say(f"run {r}: valid {metric} {res.valid_metric:.4f}, test {res.test_metric:.4f}")

        summary = leaderboard(
            lambda: build_model(s["model"], dataset, s),
            dataset,
            config,
            args.runs,
            name=s["model"],
            on_result=report,
        )
        table = leaderboard_markdown(summary)
        say(table, end="")
        final = {
            **summary,
            "test_metric": summary["test_mean"],
            "valid_metric": summary["valid_mean"],
            "seconds": sum(r["seconds"] for r in summary["per_run"]),
        }
        if args.markdown and main:
            _write(args.markdown, table)
    else:
        result = train(example, dataset, config)
        final = {"model": s["model"], **result.as_dict()}
        say(
            f"test {metric} {result.test_metric:.4f} (valid {result.valid_metric:.4f}, "
            f"best epoch {result.best_epoch}) | peak memory {_mib(result.peak_bytes)} "
            f"tensors, {_mib(result.peak_rss_bytes)} process RSS | "
            f"{result.num_params:,} parameters | {result.seconds:.1f} s"
        )
    final["settings"] = s
    final["split"] = dataset.split_info
    if args.json and main:
        _write(args.json, json.dumps(final, indent=2) + "\n")
    return 0


def _write(path: str, text: str) -> None:
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
