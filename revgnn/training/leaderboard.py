"""Several seeds of one recipe, summarised as OGB's leaderboard asks."""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from revgnn.config.train import TrainConfig
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.training.callback import Callback
from revgnn.training.loop import train
from revgnn.training.node_task import NodeTask
from revgnn.training.result import TrainResult
from revgnn.training.seed import seed_everything
from revgnn.training.task import Task
from revgnn.utils.units import format_bytes

__all__ = ["leaderboard", "leaderboard_markdown", "run_path"]


def run_path(path: str | None, run: int, runs: int) -> str | None:
    """``path`` with a ``.run<r>`` suffix when there are several runs."""
    if path is None or runs == 1:
        return path
    stem, ext = osp.splitext(path)
    return f"{stem}.run{run}{ext}"


def leaderboard(
    build_model: Callable[[], nn.Module],
    task: Task | NodeDataset,
    config: TrainConfig,
    runs: int,
    *,
    name: str = "model",
    on_result: Callable[[int, TrainResult], None] | None = None,
    callbacks: Sequence[Callback] = (),
) -> dict[str, Any]:
    """Train ``runs`` seeds (``config.seed``, ``+1``, ...) and summarise them.

    Each run seeds everything, builds a fresh model with ``build_model()`` and trains it
    (checkpoint and log files get a ``.run<r>`` suffix, so an interrupted leaderboard resumes
    run by run; ``callbacks`` are added to every run's). Returns the OGB leaderboard
    summary: mean and standard deviation of the valid and test scores, the parameter count
    and the highest peak memory, plus every run's figures.
    """
    if runs < 1:
        raise ValueError(f"runs={runs} must be at least 1")
    task = NodeTask.of(task)
    results = []
    for r in range(runs):
        cfg = replace(
            config,
            seed=config.seed + r,
            checkpoint=run_path(config.checkpoint, r, runs),
            log_path=run_path(config.log_path, r, runs),
        )
        seed_everything(cfg.seed)
        result = train(build_model(), task, cfg, callbacks)
        results.append(result)
        if on_result is not None:
            on_result(r, result)
    valid = torch.tensor([r.valid_metric for r in results], dtype=torch.float64)
    test = torch.tensor([r.test_metric for r in results], dtype=torch.float64)

    def std(t: torch.Tensor) -> float:
        return float(t.std()) if t.numel() > 1 else 0.0

    return {
        "model": name,
        "dataset": task.name,
        "metric": task.metric,
        "split": task.split_info,
        "runs": runs,
        "valid_mean": float(valid.mean()),
        "valid_std": std(valid),
        "test_mean": float(test.mean()),
        "test_std": std(test),
        "num_params": results[0].num_params,
        "peak_bytes": max(r.peak_bytes for r in results),
        "seconds_mean": float(np.mean([r.seconds for r in results])),
        "per_run": [r.as_dict() for r in results],
    }


#: Metrics the leaderboard shows as percentages (scores in [0, 1]); others (RMSE) as they are.
PERCENT = ("acc", "rocauc", "ap", "f1", "miou", "instance_miou")


def leaderboard_markdown(summary: dict[str, Any]) -> str:
    """The summary of :func:`leaderboard` as a markdown table (OGB's submission columns:
    scores in [0, 1] as percentages, an error such as RMSE in its own units)."""
    names = {"acc": "Accuracy", "rocauc": "ROC-AUC", "ap": "AP", "f1": "micro-F1",
             "rmse": "RMSE", "miou": "mIoU", "instance_miou": "instance mIoU"}  # fmt: skip
    metric = names.get(summary["metric"], summary["metric"])

    def fmt(mean: float, std: float) -> str:
        if summary["metric"] in PERCENT:
            return f"{100 * mean:.2f} ± {100 * std:.2f}"
        return f"{mean:.4f} ± {std:.4f}"

    rows = [
        f"| Model | Test {metric} | Validation {metric} | #Params | Peak memory | Runs |",
        "|---|---|---|---|---|---|",
        f"| {summary['model']} | {fmt(summary['test_mean'], summary['test_std'])} | "
        f"{fmt(summary['valid_mean'], summary['valid_std'])} | {summary['num_params']:,} | "
        f"{format_bytes(summary['peak_bytes'])} | {summary['runs']} |",
    ]
    return "\n".join(rows) + "\n"
