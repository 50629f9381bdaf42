"""Datasets: bundled Cora, real graphs from a data folder, OGB node datasets and synthetic
OGB-shaped graphs, all as :class:`NodeDataset`, validated before training."""

from revgnn.datasets.load import DATASET_NAMES, load_dataset
from revgnn.datasets.metrics import Scorer
from revgnn.datasets.node_dataset import NodeDataset, random_split
from revgnn.datasets.ogb import OGB_DATASETS, download_ogb, load_ogb, prepare_proteins
from revgnn.datasets.real import REAL_DATASETS, load_cora, load_real
from revgnn.datasets.synthetic import synthetic_dataset, write_ogb_layout
from revgnn.datasets.validate import validate

__all__ = [
    "DATASET_NAMES",
    "OGB_DATASETS",
    "REAL_DATASETS",
    "NodeDataset",
    "Scorer",
    "download_ogb",
    "load_cora",
    "load_dataset",
    "load_ogb",
    "load_real",
    "prepare_proteins",
    "random_split",
    "synthetic_dataset",
    "validate",
    "write_ogb_layout",
]
