"""Datasets: the bundled Cora, real graphs from a data folder, OGB node and graph datasets and
synthetic OGB-shaped graphs, node datasets as :class:`NodeDataset`, validated before training.

Each dataset family is one file that registers its loaders (:func:`register_dataset`); every
module of this package is imported, so adding a dataset is adding one file.
"""

import importlib
import pkgutil

from revgnn.datasets.metrics import Scorer
from revgnn.datasets.node_dataset import NodeDataset, random_split
from revgnn.datasets.ogbg import load_ogbg
from revgnn.datasets.ogbn import OGB_DATASETS, download_ogb, load_ogb, prepare_proteins
from revgnn.datasets.planetoid import load_cora
from revgnn.datasets.registry import DATASETS, load_dataset, register_dataset
from revgnn.datasets.synthetic import synthetic_dataset, write_ogb_layout
from revgnn.datasets.validate import validate

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "cora":
        importlib.import_module(f"{__name__}.{_module.name}")

#: The names :func:`load_dataset` accepts.
DATASET_NAMES = tuple(DATASETS)

__all__ = [
    "DATASETS",
    "DATASET_NAMES",
    "OGB_DATASETS",
    "NodeDataset",
    "Scorer",
    "download_ogb",
    "load_cora",
    "load_dataset",
    "load_ogb",
    "load_ogbg",
    "prepare_proteins",
    "random_split",
    "register_dataset",
    "synthetic_dataset",
    "validate",
    "write_ogb_layout",
]
