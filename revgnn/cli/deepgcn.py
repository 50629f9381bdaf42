"""``revgnn deepgcn``: train a DeepGCN (ResGCN / DenseGCN / PlainGCN, or reversible ResGCN) on
point clouds or on PPI, with the reference's recipe per dataset; or the graph-free PointNet
baseline (``--arch pointnet``).

With no arguments: a ResGCN-28 on the synthetic textured-surface set (generated, no
download). Unset flags take the dataset's recipe (:data:`~revgnn.models.deep_gcn_presets.
RECIPES`); a flag that the chosen dataset or architecture does not use is an error naming it.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from revgnn.cli.train import HelpFormatter, add_training_arguments, train_config, write_text
from revgnn.datasets.point_clouds import PointClouds, load_point_clouds, stack_clouds
from revgnn.datasets.ppi import load_ppi
from revgnn.models.deep_gcn import DeepGCN
from revgnn.models.deep_gcn_presets import ARCHITECTURES, RECIPES, deep_gcn_preset
from revgnn.models.point_net import PointNet
from revgnn.nn.conv.point_conv import POINT_CONVS
from revgnn.training import leaderboard, leaderboard_markdown, seed_everything, train
from revgnn.training.inductive_node_task import InductiveNodeTask
from revgnn.training.point_cloud_task import PointCloudTask
from revgnn.training.task import Task
from revgnn.utils.units import format_bytes

__all__ = ["TRAIN_DEFAULTS", "add_arguments", "build_model", "run"]

#: Training settings of a recipe that does not set them.
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 100,
    "lr": 1e-3,
    "weight_decay": 0.0,
    "weight_decay_on": "",
    "grad_clip": None,
    "optimizer": "adam",
    "momentum": 0.9,
    "scheduler": "none",
    "lr_min": 0.0,
    "lr_step": 20,
    "lr_gamma": 0.5,
    "label_smoothing": 0.0,
}
#: Model flags and the DeepGCN argument each sets.
MODEL_FLAGS = {
    "channels": "channels",
    "k": "k",
    "conv": "conv",
    "dilated": "dilated",
    "max_dilation": "max_dilation",
    "stochastic": "stochastic",
    "epsilon": "epsilon",
    "dropout": "dropout",
    "groups": "num_groups",
    "emb_dims": "emb_dims",
    "chunk_size": "chunk_size",
}
#: Data flags and the datasets that use them.
DATA_FLAGS = {
    "test_area": ("s3dis",),
    "category": ("partnet", "shapenet"),
    "level": ("partnet",),
    "num_clouds": ("synthetic-textures", "synthetic-texture-parts"),
}
SYNTHETIC = "synthetic-textures"


def add_arguments(parser: argparse.ArgumentParser, dataset: str | None = None) -> None:
    """Every flag of ``revgnn deepgcn``; ``dataset`` fixes the dataset (an example script)."""
    parser.formatter_class = HelpFormatter
    parser.epilog = "Recipes: " + "; ".join(
        f"{name}: {r['default']}, {r['model']}, {r['train']}" for name, r in RECIPES.items()
    )
    data = parser.add_argument_group("data")
    if dataset is None:
        data.add_argument("--dataset", default=SYNTHETIC, choices=sorted(RECIPES))
    else:
        parser.set_defaults(dataset=dataset)
    data.add_argument("--root", help="data folder (<root>/<dataset>/...)")
    data.add_argument("--download", action="store_true", help="let PyG download missing data")
    data.add_argument("--num-points", type=int, default=None, help="points per cloud")
    data.add_argument("--num-clouds", type=int, default=None, help="synthetic: clouds")
    data.add_argument("--test-area", type=int, default=None, help="S3DIS: held-out area")
    data.add_argument("--category", default=None, help="PartNet / ShapeNet category")
    data.add_argument("--level", type=int, default=None, help="PartNet: level")
    data.add_argument("--batch-size", type=int, default=None)
    data.add_argument("--data-seed", type=int, default=0, help="seed of sampling and splits")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--arch",
        default=None,
        help=f"{', '.join(ARCHITECTURES)} (any depth), or pointnet (graph-free baseline)",
    )
    model.add_argument("--channels", type=int, default=None)
    model.add_argument("--k", type=int, default=None, help="neighbours per point")
    model.add_argument("--conv", choices=sorted(POINT_CONVS), default=None)
    model.add_argument(
        "--dilated",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="dilation 1 + i at block i (default: yes)",
    )
    model.add_argument("--max-dilation", type=int, default=None)
    model.add_argument("--stochastic", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument("--epsilon", type=float, default=None)
    model.add_argument("--dropout", type=float, default=None)
    model.add_argument("--groups", type=int, default=None, help="reversible: groups")
    model.add_argument("--emb-dims", type=int, default=None, help="fusion width")
    model.add_argument("--chunk-size", type=int, default=None, help="k-NN query chunk")
    add_training_arguments(parser)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_flags(args: argparse.Namespace, arch: str) -> None:
    for name, users in DATA_FLAGS.items():
        if getattr(args, name) is not None and args.dataset not in users:
            raise ValueError(
                f"{_flag(name)} is not used by --dataset {args.dataset} (only by "
                f"{', '.join(users)})"
            )
    if args.dataset == "ppi" and args.num_points is not None:
        raise ValueError("--num-points is not used by --dataset ppi (a graph, not clouds)")
    if arch == "pointnet":
        if args.dataset == "ppi":
            raise ValueError("--arch pointnet takes point clouds; --dataset ppi is a graph")
        for name in MODEL_FLAGS:
            if name not in ("dropout", "emb_dims") and getattr(args, name) is not None:
                raise ValueError(f"{_flag(name)} is not used by --arch pointnet (no graph)")
    elif args.groups is not None and not arch.startswith("rev-"):
        raise ValueError(f"--groups is not used by --arch {arch}: only by rev-resgcn-<layers>")


def build_model(
    arch: str, in_channels: int, num_classes: int, model_kwargs: dict[str, Any], task: str
) -> nn.Module:
    """A DeepGCN of ``model_kwargs``, or the PointNet baseline for ``arch="pointnet"``."""
    if arch == "pointnet":
        kind = "classification" if task == "classification" else "segmentation"
        extra = {k: model_kwargs[k] for k in ("dropout", "emb_dims") if k in model_kwargs}
        return PointNet(in_channels, num_classes, kind, **extra)
    return DeepGCN(in_channels, num_classes, **model_kwargs)


def _load(args: argparse.Namespace, num_points: int | None) -> tuple[Task, int, int, str]:
    if args.dataset == "ppi":
        if args.root is None:
            raise ValueError("--dataset ppi needs --root (it reads <root>/ppi/raw/...)")
        task = InductiveNodeTask(load_ppi(args.root, args.download), args.batch_size or 1)
        return task, task.num_features, task.num_labels, "node"
    options = {name: getattr(args, name) for name in DATA_FLAGS if getattr(args, name) is not None}
    ds: PointClouds = load_point_clouds(
        args.dataset,
        args.root,
        download=args.download,
        num_points=num_points,
        seed=args.data_seed,
        **options,
    )
    if num_points is not None and ds.num_points != num_points:
        labels = list(ds.y) if ds.task == "segmentation" else None
        x, y = stack_clouds(list(ds.x), labels, num_points, args.data_seed)
        ds.x = x
        if y is not None:
            ds.y = y
    return PointCloudTask(ds, args.batch_size or 16), ds.num_features, ds.num_classes, ds.task


def run(args: argparse.Namespace) -> int:
    recipe_model, recipe = deep_gcn_preset(args.dataset, None)
    arch = args.arch or recipe["default"]
    _check_flags(args, arch)
    model_kwargs = dict(recipe_model)
    if arch != "pointnet":
        model_kwargs.update(deep_gcn_preset(args.dataset, arch)[0])
    for flag, key in MODEL_FLAGS.items():
        if getattr(args, flag) is not None:
            model_kwargs[key] = getattr(args, flag)
    settings = {**TRAIN_DEFAULTS, **recipe["train"]}
    for key in TRAIN_DEFAULTS:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    if args.batch_size is None:
        args.batch_size = recipe["batch_size"]
    num_points = args.num_points or recipe["num_points"]
    task, in_channels, num_classes, kind = _load(
        args, None if args.dataset == "ppi" else num_points
    )
    config = train_config(args, settings)

    def build() -> nn.Module:
        return build_model(arch, in_channels, num_classes, model_kwargs, kind)

    say = print if int(os.environ.get("RANK", "0")) == 0 else lambda *a, **k: None
    say(task.describe())
    seed_everything(args.seed)
    model = build()
    params = sum(p.numel() for p in model.parameters())
    say(f"model: {arch}, {params:,} parameters: {model!r}")
    threads = torch.get_num_threads()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        final = _train(args, task, config, build, model, arch, say)
    finally:
        torch.set_num_threads(threads)
        if dist.is_available() and dist.is_initialized():  # joined in train() under torchrun
            dist.destroy_process_group()
    final["settings"] = {"arch": arch, **model_kwargs, **settings, "batch_size": args.batch_size}
    if args.json and int(os.environ.get("RANK", "0")) == 0:
        write_text(args.json, json.dumps(final, indent=2) + "\n")
    return 0


def _train(args, task, config, build, model, arch, say) -> dict[str, Any]:
    metric = task.metric
    if args.runs > 1:
        summary = leaderboard(build, task, config, args.runs, name=arch)
        table = leaderboard_markdown(summary)
        say(table, end="")
        if args.markdown and int(os.environ.get("RANK", "0")) == 0:
            write_text(args.markdown, table)
        return summary
    result = train(model, task, config)
    best = next((r for r in result.history if r["epoch"] == result.best_epoch), {})
    extra = ", ".join(
        f"{k.removeprefix('test_')} {v:.4f}"
        for k, v in best.items()
        if k.startswith("test_") and k != f"test_{metric}"
    )
    say(
        f"test {metric} {result.test_metric:.4f}{f' ({extra})' if extra else ''}, valid "
        f"{result.valid_metric:.4f}, best epoch {result.best_epoch} | peak memory "
        f"{format_bytes(result.peak_bytes)} tensors, {format_bytes(result.peak_rss_bytes)} RSS "
        f"| {result.seconds:.1f} s"
    )
    return {"model": arch, **result.as_dict(), "best_epoch_record": best}
