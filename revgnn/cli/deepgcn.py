"""``revgnn deepgcn``: train a DeepGCN (ResGCN / DenseGCN / PlainGCN, or reversible ResGCN) on
point clouds or on PPI, with the reference's recipe per dataset; or the graph-free PointNet
baseline (``--arch pointnet``).

With no arguments: a ResGCN-28 on the synthetic textured-surface set (generated, no
download). The recipe is the dataset's shipped one (``deepgcn/<dataset>``, or ``--config``);
``--arch`` names an architecture the reference's way (``resgcn-28``, ``rev-resgcn-151``,
``densegcn-14``, ``plaingcn-56``, ``pointnet``); every other flag overrides one field, and a
flag that the chosen dataset or architecture does not use is an error naming it.
``--six-fold`` (S3DIS) trains once per held-out area and reports the six folds pooled, as the
paper does (:func:`revgnn.training.six_fold`).
"""

from __future__ import annotations

import argparse
import json

from revgnn.cli.common import HelpFormatter, add_output_arguments, check_outputs, run_experiment
from revgnn.config.data import DataConfig
from revgnn.config.flags import add_config_flags, recipe_from_args
from revgnn.config.model import PointModelConfig
from revgnn.config.optim import OptimConfig
from revgnn.config.recipe import Recipe, load_recipe, recipe_names
from revgnn.config.run import RunConfig
from revgnn.datasets.registry import DATASETS
from revgnn.models.deep_gcn_architectures import ARCHITECTURES, architecture
from revgnn.training.six_fold import six_fold
from revgnn.utils.paths import write_atomic
from revgnn.utils.registry import normalize

__all__ = ["add_arguments", "run"]

#: The datasets a flag may name, for its help.
NAMES = {"data.dataset": DATASETS.names}

SECTIONS = {"model": PointModelConfig, "optim": OptimConfig, "data": DataConfig, "run": RunConfig}
#: The dataset of ``revgnn deepgcn`` with no flags.
DEFAULT_DATASET = "synthetic-textures"


def add_arguments(parser: argparse.ArgumentParser, dataset: str = DEFAULT_DATASET) -> None:
    """Every flag of ``revgnn deepgcn``, the help giving the values of ``dataset``'s recipe
    as the defaults (an example's dataset; the command's default one)."""
    parser.formatter_class = HelpFormatter
    shipped = [n.split("/")[1] for n in recipe_names() if n.startswith("deepgcn/")]
    parser.epilog = (
        f"Datasets with a shipped recipe: {', '.join(shipped)}. The defaults shown are those "
        f"of deepgcn/{dataset}; another --dataset brings its own recipe (--print-config shows "
        "it)."
    )
    parser.add_argument(
        "--arch",
        help=f"{', '.join(ARCHITECTURES)} (any depth), or pointnet (graph-free baseline); "
        "default: the recipe's",
    )
    parser.add_argument(
        "--six-fold",
        action="store_true",
        help="S3DIS: train with each of the six areas held out in turn and report the test "
        "areas pooled (the paper's 6-fold figures) and the mean of the folds; --checkpoint and "
        "--log get one file per fold (name.areaN.ext)",
    )
    shown = load_recipe(f"deepgcn/{dataset}", explicit=False)
    add_config_flags(parser, SECTIONS, names_of=NAMES, shown=shown)
    add_output_arguments(parser)


def _arch_values(arch: str) -> dict[str, object]:
    if normalize(arch) == "pointnet":
        return {"model.model": "pointnet"}
    spec = architecture(arch)
    return {"model.backbone": spec["backbone"], "model.num_layers": spec["num_blocks"]}


def run(args: argparse.Namespace) -> int:
    dataset = getattr(args, "cfg__data.dataset", DEFAULT_DATASET)
    if dataset in DATASETS:
        dataset = DATASETS.canonical(dataset)
    name = args.config or f"deepgcn/{dataset}"
    if args.config is None and name not in recipe_names():
        raise ValueError(
            f"--dataset {dataset} has no DeepGCN recipe (deepgcn/<dataset>); pass --config FILE"
        )
    base = load_recipe(name)
    if args.arch is not None:
        base = base.with_values(_arch_values(args.arch), explicit=False)
    args.config = None  # loaded above, under the flags
    recipe = recipe_from_args(args, base)
    if args.arch is not None and "model.backbone" in recipe.explicit:
        raise ValueError("--arch sets --backbone and --layers: give one or the other")
    if args.six_fold and not args.print_config:  # the recipe printed is every fold's
        return _six_fold(args, recipe)
    return run_experiment(args, recipe)


def _six_fold(args: argparse.Namespace, recipe: Recipe) -> int:
    if "data.test_area" in recipe.explicit:
        raise ValueError("--six-fold holds out every area in turn: drop --test-area")
    if recipe.run.runs > 1:
        raise ValueError("--six-fold runs one seed per fold: drop --runs")
    check_outputs(args, recipe)

    def show(fold: dict) -> None:
        print(
            f"Area_{fold['test_area']}: OA {fold['acc']:.4f}  mAcc {fold['macc']:.4f}  mIoU "
            f"{fold['miou']:.4f} (best epoch {fold['best_epoch']}, {fold['seconds']:.0f} s)",
            flush=True,
        )

    out = six_fold(recipe, on_fold=show)
    for name in ("pooled", "mean"):
        f = out[name]
        print(f"6-fold {name}: OA {f['acc']:.4f}  mAcc {f['macc']:.4f}  mIoU {f['miou']:.4f}")
    if args.json:
        write_atomic(args.json, json.dumps({**out, "recipe": recipe.to_dict()}, indent=2) + "\n")
    return 0
