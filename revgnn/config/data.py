"""What a model is trained on: the data recipe (dataset, its preparation, how batches are
drawn)."""

from __future__ import annotations

from dataclasses import dataclass

from revgnn.config.fields import MAX_SEED, setting, validate

__all__ = ["PARTITIONS", "DataConfig"]

PARTITIONS = ("full", "random", "metis")


@dataclass(frozen=True)
class DataConfig:
    """The data recipe. Which fields a dataset reads is declared where it is registered
    (:data:`revgnn.datasets.DATASETS`); setting one it does not read is an error.

    Node tasks draw batches by ``partition`` (the full graph, ``num_parts`` random parts
    redrawn every epoch, or METIS clusters) and evaluate on the full graph
    (``eval_parts=1``) or averaged over ``eval_views`` random partitions into
    ``eval_parts`` parts. Point-cloud and graph tasks draw ``batch_size`` examples per step.
    """

    dataset: str = setting(
        "cora",
        "dataset name (cora without --root: the bundled copy), or a graph file: "
        ".pt / .pth / .npz (revgnn.datasets.graph_file)",
        path=True,
    )
    root: str | None = setting(None, "data folder (real and OGB datasets)", path=True)
    download: bool = setting(False, "let OGB / PyG download a missing dataset")
    split_seed: int = setting(
        0, "seed of random splits, sampling and held-out sets", low=0, high=MAX_SEED
    )
    features: str = setting(
        "auto",
        "node features: raw, row (row-normalised), row_scaled (row-normalised, times the mean "
        "row sum), standard (z-scored columns); auto: by the features and the labels (see "
        "revgnn.config.adapt)",
        choices=("auto", "raw", "row", "row_scaled", "standard"),
    )
    positional: str = setting(
        "auto",
        "positional node features appended to the features: walk (random projections "
        "propagated 1, 2, 3, 4, 6 and 8 times, revgnn.datasets.positional_features), none; "
        "auto: walk for graphs with at most one feature column (see revgnn.config.adapt)",
        choices=("auto", "none", "walk"),
    )
    partition: str = setting("full", "node tasks: full, random or metis", choices=PARTITIONS)
    num_parts: int = setting(1, "node tasks: training parts per epoch", flag="parts", low=1)
    eval_parts: int = setting(1, "node tasks: parts per evaluation view (1: full graph)", low=1)
    eval_views: int = setting(1, "node tasks: random views averaged in evaluation", low=1)
    batch_size: int | None = setting(None, "graphs / clouds per step (none: the recipe's)", low=1)
    train_subset: int | None = setting(
        None, "train on a seeded subset of this many training examples (quick runs)", low=1
    )
    num_nodes: int = setting(2000, "synthetic graphs: nodes", flag="nodes", low=1)
    avg_degree: float = setting(20.0, "synthetic graphs: average degree", flag="degree", low=0.0)
    proteins_node_features: str = setting(
        "sum", "ogbn-proteins: node features from edge features", choices=("sum", "mean")
    )
    species: bool = setting(False, "ogbn-proteins: append the species one-hot")
    num_points: int | None = setting(None, "points per cloud (none: the dataset's)", low=1)
    num_clouds: int | None = setting(None, "synthetic clouds: how many", low=1)
    test_area: int = setting(5, "S3DIS: the held-out area", low=1, high=6)
    valid_fraction: float = setting(
        0.1,
        "ModelNet / S3DIS (no validation split): share of the training clouds (S3DIS: of "
        "its rooms) held out for model selection; 0 selects on the test split, as the "
        "DeepGCNs reference does",
        low=0.0,
        high=0.5,
        high_open=True,
    )
    category: str | None = setting(None, "PartNet / ShapeNet category")
    level: int = setting(3, "PartNet: segmentation level", low=1, high=3)

    def __post_init__(self) -> None:
        validate(self)

    def unused(self) -> dict[str, str]:
        """Settings of the batch drawing that the partition does not use."""
        out = {}
        if self.partition == "full":
            out["num_parts"] = "--partition full (one part; use --partition random or metis)"
        if self.eval_parts == 1:
            out["eval_views"] = "--eval-parts 1 (full-graph evaluation has one view)"
        return out
