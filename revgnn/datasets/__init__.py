"""Datasets of every kind, by name: the bundled Cora, real graphs from a data folder, a user's
graph from one file (``--dataset my_graph.pt``), OGB node and graph datasets, synthetic
OGB-shaped graphs, point clouds (S3DIS, ModelNet, ShapeNet, PartNet, synthetic sets) and PPI;
node datasets as :class:`NodeDataset`, point clouds as :class:`PointClouds`, validated before
training.

Each dataset family is one file that registers its loaders in the one registry
(:func:`register_dataset`); every module of this package is imported, so adding a dataset is
adding one file.
"""

import importlib
import pkgutil

from revgnn.datasets.graph_file import from_data, load_graph_file
from revgnn.datasets.metrics import Scorer
from revgnn.datasets.node_dataset import NodeDataset, random_split
from revgnn.datasets.ogbg import load_ogbg
from revgnn.datasets.ogbn import OGB_DATASETS, download_ogb, load_ogb, prepare_proteins
from revgnn.datasets.planetoid import load_cora
from revgnn.datasets.point_clouds import PointClouds
from revgnn.datasets.point_metrics import ConfusionMatrix, ShapeIoU
from revgnn.datasets.registry import (
    DATASETS,
    KINDS,
    dataset_kind,
    load_dataset,
    register_dataset,
    unused_data_settings,
)
from revgnn.datasets.synthetic import synthetic_dataset, write_ogb_layout
from revgnn.datasets.validate import validate

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "cora":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "DATASETS",
    "KINDS",
    "OGB_DATASETS",
    "ConfusionMatrix",
    "NodeDataset",
    "PointClouds",
    "Scorer",
    "ShapeIoU",
    "dataset_kind",
    "download_ogb",
    "from_data",
    "load_cora",
    "load_dataset",
    "load_graph_file",
    "load_ogb",
    "load_ogbg",
    "prepare_proteins",
    "random_split",
    "register_dataset",
    "synthetic_dataset",
    "unused_data_settings",
    "validate",
    "write_ogb_layout",
]
