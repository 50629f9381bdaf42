"""OGB graph-property datasets (``ogbg-mol*``) from a local folder, offline."""

from __future__ import annotations

import os.path as osp
from typing import Any

from torch import Tensor

from revgnn.config.data import DataConfig
from revgnn.datasets.ogb_guard import ogb_guard
from revgnn.datasets.registry import register_dataset

__all__ = ["OGBG_DATASETS", "load_ogbg"]

#: The OGB molecule sets that :class:`~revgnn.training.GraphTask` trains on: binary tasks
#: (ROC-AUC or AP) and regressions (RMSE: the last three).
OGBG_DATASETS = (
    "ogbg-molhiv", "ogbg-molbace", "ogbg-molbbbp", "ogbg-molclintox", "ogbg-molsider",
    "ogbg-moltox21", "ogbg-moltoxcast", "ogbg-molmuv", "ogbg-molpcba",
    "ogbg-molesol", "ogbg-molfreesolv", "ogbg-mollipo",
)  # fmt: skip


def load_ogbg(name: str, root: str) -> tuple[Any, dict[str, Tensor]]:
    """Load ``ogbg-<name>`` from ``root`` (the folder holding ``ogbg_<name>/``) offline.

    Returns OGB's ``PygGraphPropPredDataset`` and its split (``train``/``valid``/``test``).
    ``processed/`` is written next to ``raw/`` on the first load, so load from a copy when
    the folder must stay read-only.
    """
    from ogb.graphproppred import dataset_pyg

    folder = osp.join(root, name.replace("-", "_"))
    if not osp.isdir(osp.join(folder, "raw")):
        raise FileNotFoundError(
            f"{name}: no OGB folder {folder}/raw; extract OGB's {name} zip so that "
            f"{folder}/raw/*.csv.gz and {folder}/split/ exist"
        )
    if not osp.exists(osp.join(folder, "RELEASE_v1.txt")):
        raise FileNotFoundError(
            f"{name}: {folder} lacks RELEASE_v1.txt, so ogb would ask on stdin whether to "
            f"delete it; if the folder is complete, create it (touch {folder}/RELEASE_v1.txt)"
        )
    with ogb_guard():
        ds = dataset_pyg.PygGraphPropPredDataset(name, root=root)
        split = ds.get_idx_split()
    return ds, {k: v.long() for k, v in split.items()}


@register_dataset(*OGBG_DATASETS, kind="graphs", where="ogbg_<name>/ (OGB's folder)")
def load_registered(name: str, root: str | None, cfg: DataConfig) -> tuple[Any, dict[str, Tensor]]:
    """:func:`load_ogbg` as a registered loader."""
    return load_ogbg(name, root)
