"""S3DIS's 6-fold protocol: train once with each area held out, score the six test areas
together (Armeni et al., CVPR 2016; how PointNet and the DeepGCNs report S3DIS)."""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable, Sequence
from typing import Any

from revgnn.config.recipe import Recipe
from revgnn.datasets.point_metrics import ConfusionMatrix
from revgnn.datasets.registry import dataset_entry
from revgnn.training.experiment import prepare
from revgnn.training.loop import train
from revgnn.training.point_cloud_task import PointCloudTask
from revgnn.training.run_record import RecipeRecord
from revgnn.training.seed import seed_everything

__all__ = ["AREAS", "fold_path", "six_fold"]

#: S3DIS's areas.
AREAS = (1, 2, 3, 4, 5, 6)


def fold_path(path: str | None, area: int) -> str | None:
    """``run.pt`` → ``run.area3.pt``: each fold's own checkpoint and log."""
    if path is None:
        return None
    stem, ext = osp.splitext(path)
    return f"{stem}.area{area}{ext}"


def six_fold(
    recipe: Recipe,
    areas: Sequence[int] = AREAS,
    on_fold: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    r"""Train ``recipe`` once per area of ``areas`` with that area as the test split (each
    fold from a fresh model, seeded alike, with its own checkpoint and log:
    :func:`fold_path`, so a killed run resumes fold by fold with ``resume_if_exists``), and
    score the best-validation model of each fold on its test area.

    The paper's figures pool the folds: one confusion matrix summed over the six test areas,
    from which overall accuracy, mean class accuracy and mean IoU are read (``pooled``); the
    mean of the six per-fold figures is reported next to it (``mean``).

    Returns:
        ``{"folds": [{"test_area", "acc", "macc", "miou", "valid_metric", "seconds",
        "best_epoch"}, ...], "pooled": {...}, "mean": {...}}``.
    """
    if not areas or any(a not in AREAS for a in areas):
        raise ValueError(f"areas={list(areas)} must be a non-empty subset of {list(AREAS)}")
    if "test_area" not in dataset_entry(recipe.data.dataset).info["reads"]:
        raise ValueError(
            f"--dataset {recipe.data.dataset} has no areas: the 6-fold protocol is S3DIS's"
        )
    pooled: ConfusionMatrix | None = None
    folds = []
    for area in areas:
        values: dict[str, Any] = {"data.test_area": area}
        for key in ("checkpoint", "log_path"):
            values[f"run.{key}"] = fold_path(getattr(recipe.run, key), area)
        exp = prepare(recipe.with_values(values, explicit=False))
        assert isinstance(exp.task, PointCloudTask)
        seed_everything(exp.recipe.run.seed)
        model = exp.build()
        # Best weights left loaded; the fold's checkpoint holds its recipe (load_run).
        result = train(model, exp.task, exp.train_config, [RecipeRecord(exp.recipe)])
        device = next(model.parameters()).device
        cm, _, _ = exp.task.score(model, "test", device, exp.recipe.optim.amp)
        if pooled is None:
            pooled = ConfusionMatrix(cm.num_classes, cm.ignore)
        pooled.matrix += cm.matrix
        fold = {
            "test_area": area,
            **cm.scores(),
            "valid_metric": result.valid_metric,
            "best_epoch": result.best_epoch,
            "seconds": result.seconds,
        }
        folds.append(fold)
        if on_fold is not None:
            on_fold(fold)
    assert pooled is not None
    keys = ("acc", "macc", "miou")
    mean = {k: sum(f[k] for f in folds) / len(folds) for k in keys}
    return {"folds": folds, "pooled": pooled.scores(), "mean": mean}
