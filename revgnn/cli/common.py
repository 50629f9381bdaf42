"""What the training commands share: output flags, the run of an experiment, the report.

``revgnn train`` and ``revgnn deepgcn`` (and the examples built on them) differ only in their
flags and their default recipe; both run :func:`run_experiment`: check every output path
before any work, load and adapt (``--print-config`` stops there), train one seed or a
leaderboard of ``--runs``, print the result and write ``--json`` / ``--markdown`` with the
recipe that ran.
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
from collections.abc import Callable
from typing import Any

import torch.distributed as dist

from revgnn.config.adapt import adapt
from revgnn.config.recipe import Recipe
from revgnn.training.experiment import Experiment, prepare
from revgnn.training.leaderboard import leaderboard, leaderboard_markdown, run_path
from revgnn.training.loop import train
from revgnn.training.result import TrainResult
from revgnn.training.run_record import RecipeRecord
from revgnn.training.seed import seed_everything
from revgnn.utils.compile import kernels
from revgnn.utils.paths import check_output, write_atomic
from revgnn.utils.threads import torch_threads
from revgnn.utils.units import format_bytes

__all__ = ["HelpFormatter", "add_output_arguments", "check_outputs", "run_experiment"]


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks; every flag's help says its default."""


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument(
        "--json", type=osp.expanduser, help="write the final metrics and the recipe here"
    )
    out.add_argument(
        "--markdown", type=osp.expanduser, help="write the leaderboard table here (--runs > 1)"
    )


def _main_rank() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def check_outputs(args: argparse.Namespace, recipe: Recipe) -> None:
    """Every output path is writable and new (or ``--overwrite``), before any work."""
    overwrite = recipe.run.overwrite
    for path, flag in ((args.json, "--json"), (getattr(args, "markdown", None), "--markdown")):
        if path and _main_rank():
            check_output(path, flag, overwrite)
    if args.markdown and recipe.run.runs == 1:
        raise ValueError("--markdown writes a leaderboard table: it needs --runs > 1")
    run = recipe.run
    if run.log_path and not run.resume and _main_rank():
        check_output(run.log_path, "--log", overwrite)
    if run.checkpoint and _main_rank():
        check_output(run.checkpoint, "--checkpoint", overwrite=True)


def run_experiment(
    args: argparse.Namespace,
    recipe: Recipe,
    after: Callable[[Experiment, Any, dict[str, Any], Callable[..., None]], None] | None = None,
) -> int:
    """Run ``recipe`` as the command line asked (see the module docstring); ``after(exp,
    model, final, say)`` may add to the record of a single run."""
    check_outputs(args, recipe)
    if args.print_config:
        try:
            resolved = prepare(recipe).recipe
        except FileNotFoundError as e:  # a recipe may be written before its data is there
            print(f"# {e}: settings that adapt to the graph take their no-graph values")
            resolved = adapt(recipe)
        print(resolved.to_yaml(), end="")
        return 0
    try:
        with torch_threads(recipe.run.threads):  # the data is loaded on them too
            final = _train_and_report(args, prepare(recipe), after)
    finally:  # the commands are also called in-process (tests, notebooks)
        if dist.is_available() and dist.is_initialized():  # joined in train() under torchrun
            dist.destroy_process_group()
    if args.json and _main_rank():
        write_atomic(args.json, json.dumps(final, indent=2) + "\n")
    return 0


def _say(*a: Any, **k: Any) -> None:
    if _main_rank():
        print(*a, **k, flush=True)


def _train_and_report(
    args: argparse.Namespace, exp: Experiment, after: Callable[..., None] | None
) -> dict[str, Any]:
    recipe, metric = exp.recipe, exp.task.metric
    _say(exp.describe())
    seed_everything(recipe.run.seed)
    model = exp.build()
    _say(f"model: {sum(p.numel() for p in model.parameters()):,} parameters: {model!r}")
    config = exp.train_config
    if recipe.run.runs > 1:

        def report(r: int, res: TrainResult) -> None:
            _say(f"run {r}: valid {metric} {res.valid_metric:.4f}, test {res.test_metric:.4f}")

        summary = leaderboard(
            exp.build, exp.task, config, recipe.run.runs, name=recipe.model.model,
            on_result=report, callbacks=[RecipeRecord(recipe)],
        )  # fmt: skip
        table = leaderboard_markdown(summary)
        _say(table, end="")
        if args.markdown and _main_rank():
            write_atomic(args.markdown, table)
        final = {
            **summary,
            "test_metric": summary["test_mean"],
            "valid_metric": summary["valid_mean"],
        }
    else:
        result = train(model, exp.task, config, [RecipeRecord(recipe)])
        best = next((r for r in result.history if r["epoch"] == result.best_epoch), {})
        final = {"model": recipe.model.model, **result.as_dict(), "best_epoch_record": best}
        extra = ", ".join(
            f"{k.removeprefix('test_')} {v:.4f}"
            for k, v in best.items()
            if k.startswith("test_") and k != f"test_{metric}"
        )
        _say(
            f"test {metric} {result.test_metric:.4f}{f' ({extra})' if extra else ''} (valid "
            f"{result.valid_metric:.4f}, best epoch {result.best_epoch}"
            + (f" of {result.epochs_run}" if result.stopped else "")
            + f") | peak memory {format_bytes(result.peak_bytes)} tensors, "
            f"{format_bytes(result.peak_rss_bytes)} process RSS | {result.num_params:,} "
            f"parameters | {result.seconds:.1f} s"
            + (
                f" (compiling {kernels(result.compilations)}: {result.compile_seconds:.1f} s)"
                if result.compilations
                else ""
            )
        )
        if after is not None and _main_rank():
            after(exp, model, final, _say)
    if recipe.run.checkpoint is not None:
        paths = [
            run_path(recipe.run.checkpoint, r, recipe.run.runs) for r in range(recipe.run.runs)
        ]
        which = "the run's" if len(paths) == 1 else "a run's"
        _say(f"checkpoint {', '.join(paths)}: revgnn.load_run({paths[0]!r}) gives {which} "
             "data and model")  # fmt: skip
    final["recipe"] = exp.recipe.to_dict()
    final["split"] = exp.task.split_info
    return final
