"""Datasets by name: each dataset family's file registers its loaders here.

A loader is ``loader(name, root, options) -> NodeDataset``; :func:`load_dataset` validates
what it returns. Adding a dataset is adding one file to :mod:`revgnn.datasets` that calls
:func:`register_dataset` (every module of the package is imported).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.validate import validate

__all__ = ["DATASETS", "DatasetSpec", "LoadOptions", "load_dataset", "register_dataset"]


@dataclass(frozen=True)
class LoadOptions:
    """What a loader may use besides the name and the folder.

    Args:
        download (bool): OGB only: download when the dataset folder is missing.
        split_seed (int): Seed of the random split of datasets without one.
        num_nodes (int), avg_degree (float): Size of a synthetic graph.
        proteins_node_features (str), species (bool): ogbn-proteins preparation.
    """

    download: bool = False
    split_seed: int = 0
    num_nodes: int = 2000
    avg_degree: float = 20.0
    proteins_node_features: str = "sum"
    species: bool = False


Loader = Callable[[str, "str | None", LoadOptions], NodeDataset]


@dataclass(frozen=True)
class DatasetSpec:
    """One registered dataset: its loader, whether it needs a data folder, and where in that
    folder it lives (for messages)."""

    name: str
    load: Loader
    needs_root: bool
    where: str


#: Every registered dataset, by name.
DATASETS: dict[str, DatasetSpec] = {}


def register_dataset(
    *names: str, needs_root: bool = True, where: str = ""
) -> Callable[[Loader], Loader]:
    """Decorator registering a loader under ``names``."""

    def decorator(load: Loader) -> Loader:
        for name in names:
            if name in DATASETS:
                raise ValueError(f"a dataset named {name!r} is already registered")
            DATASETS[name] = DatasetSpec(name, load, needs_root, where)
        return load

    return decorator


def load_dataset(name: str, root: str | None = None, **options: object) -> NodeDataset:
    """Load a registered dataset by name and :func:`~revgnn.datasets.validate` it.

    Args:
        name (str): A key of :data:`DATASETS` (``"cora"`` without ``root`` is the copy shipped
            inside the package).
        root (str, optional): The data folder, for datasets that need one.
        **options: Fields of :class:`LoadOptions`.
    """
    spec = DATASETS.get(name)
    if spec is None:
        raise ValueError(f"dataset {name!r} is not one of {', '.join(sorted(DATASETS))}")
    if spec.needs_root and root is None:
        where = f" (it reads <root>/{spec.where})" if spec.where else ""
        raise ValueError(f"dataset {name!r} needs root= (--root), the data folder{where}")
    return validate(spec.load(name, root, LoadOptions(**options)))
