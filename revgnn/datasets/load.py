"""One entry point for every dataset by name: bundled, real, OGB or synthetic."""

from __future__ import annotations

from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.ogb import OGB_DATASETS, load_ogb
from revgnn.datasets.real import REAL_DATASETS, load_cora, load_real
from revgnn.datasets.synthetic import SYNTHETIC_KINDS, synthetic_dataset
from revgnn.datasets.validate import validate

__all__ = ["DATASET_NAMES", "load_dataset"]

DATASET_NAMES = (
    tuple(REAL_DATASETS) + OGB_DATASETS + tuple(f"synthetic-{k}" for k in SYNTHETIC_KINDS)
)


def load_dataset(
    name: str,
    root: str | None = None,
    *,
    download: bool = False,
    split_seed: int = 0,
    num_nodes: int = 2000,
    avg_degree: float = 20.0,
    proteins_node_features: str = "sum",
    species: bool = False,
) -> NodeDataset:
    """Load a dataset by name and :func:`~revgnn.datasets.validate` it.

    Args:
        name (str): One of :data:`DATASET_NAMES`. ``"cora"`` without ``root`` is the copy
            shipped inside the package.
        root (str, optional): Data folder for real and OGB datasets.
        download (bool): OGB only: download when the dataset folder is missing.
        split_seed (int): Seed of the random split of datasets without one.
        num_nodes (int), avg_degree (float): Size of a synthetic graph (``split_seed`` seeds
            it).
        proteins_node_features (str), species (bool): ogbn-proteins preparation.
    """
    if name == "cora" and root is None:
        ds = load_cora()
    elif name in OGB_DATASETS:
        if root is None:
            raise ValueError(f"{name}: pass root= (--root), the folder holding its OGB folder")
        ds = load_ogb(
            name,
            root,
            download=download,
            proteins_node_features=proteins_node_features,
            species=species,
        )
    elif name.startswith("synthetic-"):
        ds = synthetic_dataset(
            name.removeprefix("synthetic-"),
            num_nodes,
            avg_degree,
            split_seed,
            proteins_node_features=proteins_node_features,
            species=species,
        )
    elif name in REAL_DATASETS:
        if root is None:
            raise ValueError(f"{name}: pass root= (--root), the data folder")
        ds = load_real(name, root, split_seed=split_seed)
    else:
        raise ValueError(f"name={name!r} is not a known dataset; choose from {DATASET_NAMES}")
    return validate(ds)
