"""``revgnn train``: train a model on a dataset with :func:`revgnn.train`.

With no arguments: a deep RevGNN on the Cora shipped inside the package (public Planetoid
split), one seed, ending with the test accuracy and the peak memory. Every model flag left
unset takes the dataset's preset (:data:`PRESETS`), then the general default; a flag set
explicitly that the chosen model or conv does not use is an error naming both.

Launched by ``torchrun --nproc_per_node=P revgnn train ...`` the training is data-parallel
(see :func:`revgnn.train`); rank 0 alone prints and writes ``--json`` / ``--markdown`` /
``--log`` / ``--checkpoint``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from revgnn.datasets import DATASET_NAMES, NodeDataset, load_dataset
from revgnn.models import DEQGNN, DeeperGCN, RevGNN
from revgnn.nn.aggr import AGGREGATIONS, PowerMeanAggregation, SoftmaxAggregation
from revgnn.nn.conv import CONVS, conv_resolver
from revgnn.training import (
    NodeTask,
    TrainConfig,
    TrainResult,
    leaderboard,
    leaderboard_markdown,
    seed_everything,
    train,
)
from revgnn.training.config import OPTIMIZERS, SCHEDULERS
from revgnn.utils.units import format_bytes

__all__ = [
    "DEFAULTS",
    "MODELS",
    "PRESETS",
    "add_arguments",
    "add_training_arguments",
    "build_model",
    "explicit_flags",
    "resolve",
    "run",
    "train_config",
    "write_text",
]


@dataclass(frozen=True)
class ModelChoice:
    """A ``--model`` name: the class and the arguments that make it that model."""

    cls: type[nn.Module]
    fixed: dict[str, Any]


MODELS = {
    "revgnn": ModelChoice(RevGNN, {}),
    "wt-revgnn": ModelChoice(RevGNN, {"weight_tied": True}),
    "deq-gnn": ModelChoice(DEQGNN, {}),
    "deeper-gcn": ModelChoice(DeeperGCN, {}),
}

#: Model flags: the model's constructor argument each sets.
MODEL_FLAGS = {
    "groups": "num_groups",
    "conv": "conv",
    "norm": "norm",
    "dropout": "dropout",
    "input_dropout": "input_dropout",
    "edge_dropout": "edge_dropout",
    "branch_gate": "branch_gate",
}

#: From this depth on, the defaults are the deep recipe (see :func:`depth_defaults`).
DEEP = 16
#: Conv flags: the conv option each sets (refused when the conv has no such option).
CONV_FLAGS = {
    "aggr": "aggr",
    "t": "t",
    "learn_t": "learn_t",
    "p": "p",
    "learn_p": "learn_p",
    "mlp_layers": "mlp_layers",
    "heads": "heads",
    "attn_dropout": "attn_dropout",
}
#: Conv flags that apply to some aggregations only.
AGGR_FLAGS = {"t": SoftmaxAggregation, "learn_t": SoftmaxAggregation}
AGGR_FLAGS.update(p=PowerMeanAggregation, learn_p=PowerMeanAggregation)

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
    "p": 1.0,
    "learn_p": False,
    "heads": 1,
    "attn_dropout": 0.0,
    "mlp_layers": 1,
    "norm": "layer",
    "dropout": 0.5,
    "input_dropout": 0.5,
    "edge_dropout": 0.0,
    "branch_gate": "auto",
    "epochs": 200,
    "lr": 0.01,
    "weight_decay": 5e-4,
    "weight_decay_on": "auto",
    "grad_clip": 1.0,
    "optimizer": "adam",
    "momentum": 0.9,
    "scheduler": "none",
    "lr_min": 0.0,
    "lr_step": 20,
    "lr_gamma": 0.5,
    "label_smoothing": 0.0,
    "partition": "full",
    "parts": 1,
    "eval_parts": 1,
    "eval_views": 1,
    "threads": 0,
}
PRESETS: dict[str, dict[str, Any]] = {
    # The main job: 64 reversible GCN blocks, 2 groups, GCN's regularisation (Kipf & Welling:
    # weight decay 5e-4, strong input dropout) and the deep recipe of depth_defaults; the
    # experiments behind it are in benchmarks/README.md (accuracy versus depth).
    "cora": {
        "layers": 64,
        "conv": "gcn",
        "norm": "layer",
        "dropout": 0.5,
        "input_dropout": 0.8,
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


def _choices(values: Any) -> str:
    return ", ".join(values)


def _float_or_none(text: str) -> float | str:
    return "none" if text.lower() == "none" else float(text)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model flags (default ``None``: unset, so that presets and defaults apply)."""
    model = parser.add_argument_group("model (unset: the dataset's preset, then the default)")
    model.add_argument("--model", choices=tuple(MODELS), default=None)
    model.add_argument("--hidden", type=int, default=None, help="width of the residual stream")
    model.add_argument("--layers", type=int, default=None, help="depth")
    model.add_argument("--groups", type=int, default=None, help="groups of a reversible block")
    model.add_argument("--conv", default=None, help=f"block operator: {_choices(CONVS)}")
    model.add_argument(
        "--aggr", default=None, help=f"GENConv aggregation: {_choices(AGGREGATIONS)}"
    )
    model.add_argument("--t", type=float, default=None, help="initial softmax temperature")
    model.add_argument(
        "--learn-t", action=argparse.BooleanOptionalAction, default=None, help="learn softmax t"
    )
    model.add_argument("--p", type=float, default=None, help="initial power-mean power")
    model.add_argument(
        "--learn-p", action=argparse.BooleanOptionalAction, default=None, help="learn p"
    )
    model.add_argument("--heads", type=int, default=None, help="GAT attention heads (RevGAT)")
    model.add_argument("--attn-dropout", type=float, default=None, help="GAT attention dropout")
    model.add_argument("--mlp-layers", type=int, default=None, help="layers of GENConv's MLP")
    model.add_argument("--norm", default=None, help="batch | layer | ...")
    model.add_argument("--dropout", type=float, default=None)
    model.add_argument("--input-dropout", type=float, default=None)
    model.add_argument("--edge-dropout", type=float, default=None, help="DropEdge probability")
    model.add_argument(
        "--branch-gate",
        type=_float_or_none,
        default=None,
        help="learnable gate on every block's branch, starting at this value (0: ReZero, the "
        f"default from {DEEP} layers on); 'none': no gate",
    )


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The optimisation and output flags every training script shares."""
    opt = parser.add_argument_group("training")
    opt.add_argument("--epochs", type=int, default=None)
    opt.add_argument("--lr", type=float, default=None)
    opt.add_argument("--weight-decay", type=float, default=None)
    opt.add_argument(
        "--weight-decay-on",
        default=None,
        help="comma-separated submodules that get weight decay ('': all parameters; default: "
        f"the input encoder below {DEEP} layers, all from {DEEP} on)",
    )
    opt.add_argument("--grad-clip", type=float, default=None, help="0 disables")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
    opt.add_argument("--momentum", type=float, default=None, help="SGD's momentum")
    opt.add_argument(
        "--scheduler", choices=("none", *SCHEDULERS), default=None, help="stepped every epoch"
    )
    opt.add_argument("--lr-min", type=float, default=None, help="cosine: the final rate")
    opt.add_argument("--lr-step", type=int, default=None, help="step: epochs between decays")
    opt.add_argument("--lr-gamma", type=float, default=None, help="step: the decay factor")
    opt.add_argument("--label-smoothing", type=float, default=None)
    opt.add_argument("--amp", choices=("bf16", "fp16"), default=None)
    opt.add_argument("--eval-every", type=int, default=1)
    opt.add_argument("--seed", type=int, default=0)
    opt.add_argument("--runs", type=int, default=1, help="seeds for a leaderboard entry")
    opt.add_argument("--threads", type=int, default=None, help="torch CPU threads (0: torch's)")
    opt.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    opt.add_argument("--memory-every", type=int, default=0, help="CPU peak profiling period")

    out = parser.add_argument_group("output")
    out.add_argument("--checkpoint", help="checkpoint file (written atomically)")
    out.add_argument("--checkpoint-every", type=int, default=10)
    resume = out.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    resume.add_argument(
        "--resume-if-exists",
        action="store_true",
        help="continue from --checkpoint if it exists, else start fresh",
    )
    out.add_argument("--overwrite", action="store_true", help="replace an existing --checkpoint")
    out.add_argument("--log", help="JSONL file, one line per epoch")
    out.add_argument("--json", help="write the final metrics here")
    out.add_argument("--markdown", help="write the leaderboard table here")
    out.add_argument(
        "--no-progress", action="store_true", help="no bar: one line per evaluation instead"
    )


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for flags whose unset value means "the preset's"."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def add_arguments(parser: argparse.ArgumentParser, dataset: str | None = None) -> None:
    """Every flag of ``revgnn train``; ``dataset`` fixes the dataset (an example script)."""
    parser.formatter_class = HelpFormatter
    parser.epilog = (
        "Unset model and optimisation flags take the dataset's preset, else these defaults: "
        + ", ".join(f"{k}={v}" for k, v in DEFAULTS.items())
        + ". Presets: "
        + "; ".join(f"{name}: {p}" for name, p in PRESETS.items())
    )
    data = parser.add_argument_group("data")
    if dataset is None:
        data.add_argument("--dataset", default="cora", choices=sorted(DATASET_NAMES))
    else:
        parser.set_defaults(dataset=dataset)
    data.add_argument("--root", help="data folder (real and OGB datasets)")
    data.add_argument("--download", action="store_true", help="OGB: download if missing")
    data.add_argument("--split-seed", type=int, default=0, help="seed of random splits")
    data.add_argument("--nodes", type=int, default=2000, help="synthetic graphs: nodes")
    data.add_argument("--degree", type=float, default=20.0, help="synthetic: average degree")
    data.add_argument("--proteins-node-features", choices=("sum", "mean"), default="sum")
    data.add_argument(
        "--species",
        action=argparse.BooleanOptionalAction,
        default=argparse.SUPPRESS,
        help="proteins: append the species one-hot to the node features (default: the "
        "preset's, else no)",
    )
    data.add_argument("--partition", choices=("full", "random", "metis"), default=None)
    data.add_argument("--parts", type=int, default=None, help="training parts per epoch")
    data.add_argument("--eval-parts", type=int, default=None)
    data.add_argument("--eval-views", type=int, default=None)
    add_model_arguments(parser)
    add_training_arguments(parser)
    parser.add_argument(
        "--no-compare",
        action="store_true",
        help="skip measuring one step of the same weights run non-reversibly at the end",
    )


def depth_defaults(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings left at ``"auto"`` take the recipe of their depth.

    Shallow (< :data:`DEEP` layers): no gate, weight decay on the input encoder only (GCN's).
    Deep: every group function starts at zero behind a learnable gate (``branch_gate=0``,
    ReZero), so that the stack starts as its encoder and head and learns how much each block
    adds, and weight decay applies to every parameter, the gates included (pulling the blocks
    towards the identity). On Cora at 64 layers (100 epochs) this took the test accuracy from
    0.575 to 0.812; see benchmarks/README.md.
    """
    deep = settings["layers"] >= DEEP
    out = dict(settings)
    if out["branch_gate"] == "auto":
        out["branch_gate"] = 0.0 if deep else None
    if out["weight_decay_on"] == "auto":
        out["weight_decay_on"] = "" if deep else "encoder.node"
    return out


def explicit_flags(args: argparse.Namespace) -> frozenset[str]:
    """The settings the command line set (not a preset, not a default)."""
    return frozenset(k for k in DEFAULTS if getattr(args, k, None) is not None)


def resolve(args: argparse.Namespace, preset: dict[str, Any] | None = None) -> dict[str, Any]:
    """The effective settings: explicit flags, else ``preset`` (default: the dataset's), else
    the default."""
    preset = PRESETS.get(args.dataset, {}) if preset is None else preset
    settings = {}
    for key, default in DEFAULTS.items():
        value = getattr(args, key, None)
        settings[key] = value if value is not None else preset.get(key, default)
    species = getattr(args, "species", None)
    settings["species"] = preset.get("species", False) if species is None else species
    return depth_defaults(settings)


def _unused(flag: str, name: str, why: str) -> ValueError:
    return ValueError(f"--{flag.replace('_', '-')} is not used by --model {name}: {why}")


def build_model(
    name: str,
    num_features: int,
    num_classes: int,
    edge_dim: int | None,
    s: dict[str, Any],
    explicit: frozenset[str] = frozenset(),
    conv_options: dict[str, Any] | None = None,
) -> nn.Module:
    """Build ``--model name`` from the settings ``s``. Settings the model or its conv does not
    use are dropped, unless ``explicit`` (set on the command line): then they are an error.
    ``conv_options`` are further conv options (a recipe's), used where the conv takes them."""
    if name not in MODELS:
        raise ValueError(f"--model {name!r} is not one of {_choices(MODELS)}")
    choice = MODELS[name]
    params = inspect.signature(choice.cls).parameters
    spec = conv_resolver(s["conv"])
    kwargs: dict[str, Any] = dict(choice.fixed)
    for flag, arg in MODEL_FLAGS.items():
        if arg in params:
            kwargs[arg] = None if s[flag] == "none" else s[flag]
        elif flag in explicit:
            users = [m for m, c in MODELS.items() if arg in inspect.signature(c.cls).parameters]
            raise _unused(
                flag, name, f"{choice.cls.__name__} has no {arg} (used by {_choices(users)})"
            )
    conv_kwargs: dict[str, Any] = {}
    aggr_cls = AGGREGATIONS.get(s["aggr"]) if spec.accepts("aggr") else None
    for flag, option in CONV_FLAGS.items():
        usable = spec.accepts(option)
        needs = AGGR_FLAGS.get(flag)
        if usable and needs is not None and not (aggr_cls and issubclass(aggr_cls, needs)):
            if flag in explicit:
                raise _unused(
                    flag,
                    name,
                    f"it applies to {needs.__name__.removesuffix('Aggregation')} "
                    f"aggregations, and --aggr is {s['aggr']}",
                )
            continue
        if usable:
            conv_kwargs[option] = s[flag]
        elif flag in explicit:
            options = ", ".join(spec.options) or "none"
            raise _unused(
                flag,
                name,
                f"its --conv {spec.name} has no option {option} (its options: {options})",
            )
    conv_kwargs.update({k: v for k, v in (conv_options or {}).items() if spec.accepts(k)})
    kwargs["conv_kwargs"] = conv_kwargs
    if edge_dim is not None:
        kwargs["edge_dim"] = edge_dim
    return choice.cls(num_features, s["hidden"], num_classes, s["layers"], **kwargs)


def train_config(args: argparse.Namespace, s: dict[str, Any]) -> TrainConfig:
    """The :class:`~revgnn.training.TrainConfig` of the training flags and settings ``s``."""
    return TrainConfig(
        epochs=s["epochs"],
        lr=s["lr"],
        weight_decay=s["weight_decay"],
        weight_decay_on=tuple(n for n in s["weight_decay_on"].split(",") if n),
        grad_clip=s["grad_clip"] or None,
        optimizer=s["optimizer"],
        momentum=s["momentum"],
        scheduler=None if s["scheduler"] == "none" else s["scheduler"],
        lr_min=s["lr_min"],
        lr_step=s["lr_step"],
        lr_gamma=s["lr_gamma"],
        amp=args.amp,
        label_smoothing=s["label_smoothing"],
        eval_every=args.eval_every,
        seed=args.seed,
        device=args.device,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume or args.resume_if_exists,
        missing_ok=args.resume_if_exists,
        overwrite=args.overwrite,
        log_path=args.log,
        progress=not args.no_progress,
        memory_every=args.memory_every,
    )


def _check_world_size(s: dict[str, Any], world: int) -> None:
    # Under torchrun each process takes every world-th batch of an epoch: say so before
    # the data and model are built on every rank.
    if world > 1 and (s["partition"] == "full" or s["parts"] % world != 0):
        raise ValueError(
            f"--partition {s['partition']} --parts {s['parts']} cannot be shared by "
            f"{world} processes: use --partition random or metis with --parts a multiple of "
            f"{world} (full-batch training does not split)"
        )


def run(args: argparse.Namespace, preset: dict[str, Any] | None = None) -> int:
    """Train as the flags say; ``preset`` replaces the dataset's preset (an example's)."""
    s = resolve(args, preset)
    config = train_config(args, s)
    explicit = explicit_flags(args)
    _check_world_size(s, int(os.environ.get("WORLD_SIZE", "1")))
    dataset = load_dataset(
        args.dataset,
        args.root,
        download=args.download,
        split_seed=args.split_seed,
        num_nodes=args.nodes,
        avg_degree=args.degree,
        proteins_node_features=args.proteins_node_features,
        species=s["species"],
    )
    task = NodeTask(
        dataset,
        partition=s["partition"],
        num_parts=s["parts"],
        eval_parts=s["eval_parts"],
        eval_views=s["eval_views"],
        metis_cache=osp.join(args.root, "metis_cache") if args.root else None,
    )

    def build() -> nn.Module:
        return build_model(
            s["model"], dataset.num_features, dataset.num_classes, dataset.edge_dim, s, explicit
        )

    build()  # a wrong flag fails here, before any training
    threads = torch.get_num_threads()
    if s["threads"] > 0:
        torch.set_num_threads(s["threads"])
    try:
        return _train_and_report(args, dataset, task, s, config, build)
    finally:  # run() is also called in-process (tests, notebooks)
        torch.set_num_threads(threads)
        if dist.is_available() and dist.is_initialized():  # joined in train() under torchrun
            dist.destroy_process_group()


def _train_and_report(
    args: argparse.Namespace,
    dataset: NodeDataset,
    task: NodeTask,
    s: dict[str, Any],
    config: TrainConfig,
    build: Any,
) -> int:
    # torchrun's RANK: only rank 0 reports (the process group is joined later, in train()).
    main = int(os.environ.get("RANK", "0")) == 0
    say = print if main else lambda *a, **k: None
    say(dataset.describe())
    seed_everything(args.seed)
    example = build()
    say(f"model: {example!r}")
    metric = dataset.metric
    if args.runs > 1:

        def report(r: int, res: TrainResult) -> None:
            say(f"run {r}: valid {metric} {res.valid_metric:.4f}, test {res.test_metric:.4f}")

        summary = leaderboard(build, task, config, args.runs, name=s["model"], on_result=report)
        table = leaderboard_markdown(summary)
        say(table, end="")
        final = {
            **summary,
            "test_metric": summary["test_mean"],
            "valid_metric": summary["valid_mean"],
            "seconds": sum(r["seconds"] for r in summary["per_run"]),
        }
        if args.markdown and main:
            write_text(args.markdown, table)
    else:
        result = train(example, task, config)
        final = {"model": s["model"], **result.as_dict()}
        say(
            f"test {metric} {result.test_metric:.4f} (valid {result.valid_metric:.4f}, "
            f"best epoch {result.best_epoch}) | peak memory {format_bytes(result.peak_bytes)} "
            f"tensors, {format_bytes(result.peak_rss_bytes)} process RSS | "
            f"{result.num_params:,} parameters | {result.seconds:.1f} s"
        )
        if main and getattr(example, "reversible", False) and not args.no_compare:
            final["memory"] = _compare_reversible(example, task, config, s, say)
    final["settings"] = s
    final["split"] = dataset.split_info
    if args.json and main:
        write_text(args.json, json.dumps(final, indent=2) + "\n")
    return 0


def _compare_reversible(
    model: nn.Module, task: NodeTask, config: TrainConfig, s: dict[str, Any], say: Any
) -> dict[str, int]:
    """One training step of the trained model, reversibly and with the same weights run
    non-reversibly: what reversibility saves, measured the same way for both."""
    from revgnn.memory.step_peak import step_peak

    kw = {"device": config.device, "amp": config.amp}
    rev = step_peak(model, task, **kw)
    plain = step_peak(model, task, reversible=False, **kw)
    say(
        f"peak memory of one training step at {s['layers']} layers: "
        f"{format_bytes(rev)} reversible, {format_bytes(plain)} for the same weights run "
        f"non-reversibly (reversible=False): {plain / rev:.1f}x"
    )
    return {"step_peak_bytes": rev, "non_reversible_step_peak_bytes": plain}


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path``, creating its folder."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
