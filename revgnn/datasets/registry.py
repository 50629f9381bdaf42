"""Datasets by name, of every kind: each dataset family's file registers its loaders here.

A loader is ``loader(name, root, cfg) -> dataset`` with ``cfg`` the
:class:`~revgnn.config.DataConfig`; its registration says what it returns (``kind``: node
prediction on one graph, point clouds, graphs, or inductive node prediction over several
graphs), whether it needs a data folder, where in it the data lives, and which settings of
the data recipe it reads (``reads``), so that setting one it does not read is an error,
and which file endings it reads when the dataset is given as a path (``suffixes``: a user's
own graph, :mod:`revgnn.datasets.graph_file`). :func:`load_dataset` validates what a loader
returns. Adding a dataset is adding one file to :mod:`revgnn.datasets` that calls
:func:`register_dataset` (every module of the package is imported).
"""

from __future__ import annotations

import csv
import gzip
import json
import os.path as osp
import pickle
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import fields, replace
from typing import Any

import torch

from revgnn.config.data import DataConfig
from revgnn.config.fields import settings_of
from revgnn.datasets.validate import validate
from revgnn.utils.registry import Entry, Registry, did_you_mean

__all__ = [
    "DATASETS",
    "KINDS",
    "CorruptDataset",
    "NoDataRoot",
    "canonical_dataset",
    "dataset_entry",
    "dataset_kind",
    "load_dataset",
    "register_dataset",
]


class CorruptDataset(ValueError):
    """A dataset file exists but cannot be read (truncated, corrupt, or a stale cache)."""


#: What reading a truncated or corrupt file raises (numpy's npz, pickle, gzip, JSON, CSV).
_UNREADABLE = (
    zipfile.BadZipFile, pickle.UnpicklingError, EOFError, gzip.BadGzipFile, zlib.error,
    json.JSONDecodeError, csv.Error,
)  # fmt: skip


def _unreadable(e: BaseException) -> bool:
    if isinstance(e, _UNREADABLE):
        return True
    # torch.load of a damaged archive; numpy of a short array file
    text = str(e)
    return isinstance(e, (RuntimeError, ValueError, OSError)) and any(
        s in text
        for s in ("PytorchStreamReader", "zip archive", "unexpected EOF", "cannot reshape array",
                  "Failed to interpret file", "file could not be opened successfully",
                  "could not read bytes", "buffer is smaller than requested")
    )  # fmt: skip


class NoDataRoot(FileNotFoundError, ValueError):
    """A dataset that is read from a data folder was asked for without one (a missing file
    for what may wait for the data, e.g. ``--print-config``; a wrong setting otherwise)."""


#: What a dataset is: node prediction on one graph, point clouds, a set of graphs with a
#: label each, node prediction on several graphs.
KINDS = ("node", "points", "graphs", "inductive")

#: Settings every loader may read (``train_subset`` is applied here, to every kind).
COMMON = ("dataset", "root", "download", "split_seed", "train_subset")
#: Settings read after loading (how batches are drawn, the node features' preprocessing),
#: by the experiment rather than the loader.
BATCHING = {
    "node": ("partition", "num_parts", "eval_parts", "eval_views", "features", "positional"),
    "points": ("batch_size",),
    "graphs": ("batch_size",),
    "inductive": ("batch_size",),
}

Loader = Callable[[str, "str | None", DataConfig], Any]

#: Every registered dataset, by name.
DATASETS: Registry[Loader] = Registry("dataset")


def register_dataset(
    *names: str,
    kind: str = "node",
    needs_root: bool = True,
    where: str = "",
    reads: Iterable[str] = (),
    suffixes: Iterable[str] = (),
) -> Callable[[Loader], Loader]:
    """Decorator registering a loader under ``names`` (see the module docstring); a dataset
    name that is a path ending in one of ``suffixes`` (``".pt"``) is read by this loader too,
    the path as its ``name`` (a user's own file)."""
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} must be one of {', '.join(KINDS)}")
    known = {f.name for f in fields(DataConfig)}
    bad = [r for r in reads if r not in known]
    if bad:
        raise ValueError(f"reads={bad} are not DataConfig fields")
    return DATASETS.register(
        *names,
        kind=kind,
        needs_root=needs_root,
        where=where,
        reads=tuple(reads),
        suffixes=tuple(s.lower() for s in suffixes),
    )


def dataset_entry(name: str) -> Entry[Loader]:
    """The registered loader of ``name``: a dataset's name (in any case, with ``-`` / ``_``
    as you like: ``CiteSeer``, ``ogbn_arxiv``), or a path to a file whose ending a loader
    reads. Anything else is a ``ValueError`` listing both and the closest name."""
    if isinstance(name, str) and name not in DATASETS:
        for entry in DATASETS.entries():
            if entry.info["suffixes"] and name.lower().endswith(entry.info["suffixes"]):
                return entry
        files = sorted({s for e in DATASETS.entries() for s in e.info["suffixes"]})
        raise ValueError(
            f"dataset={name!r} is not one of {', '.join(DATASETS.names())}, nor a graph "
            f"file ({', '.join(files)}){did_you_mean(name, DATASETS.names())}"
        )
    return DATASETS.entry(name)


def canonical_dataset(cfg: DataConfig) -> DataConfig:
    """``cfg`` with its dataset's registered spelling (``CiteSeer`` -> ``citeseer``); a
    graph file's path is kept as given."""
    entry = dataset_entry(cfg.dataset)
    if entry.info["suffixes"] or entry.name == cfg.dataset:
        return cfg
    return replace(cfg, dataset=entry.name)


def dataset_kind(name: str) -> str:
    """``"node"``, ``"points"``, ``"graphs"`` or ``"inductive"``."""
    return dataset_entry(name).info["kind"]


def unused_data_settings(cfg: DataConfig) -> dict[str, str]:
    """The data settings that ``cfg.dataset`` and its task do not read, and why."""
    info = dataset_entry(cfg.dataset).info
    used = {*COMMON, *info["reads"], *BATCHING[info["kind"]]}
    out = {f.name: f"--dataset {cfg.dataset}" for f in fields(cfg) if f.name not in used}
    if info["kind"] == "node":
        out.update(cfg.unused())
    return out


def load_dataset(
    cfg: DataConfig | str,
    root: str | None = None,
    *,
    explicit: Iterable[str] = (),
    **options: Any,
) -> Any:
    """Load a registered dataset and validate it.

    Args:
        cfg (DataConfig or str): The data recipe, or a dataset name (``"cora"`` without
            ``root`` is the copy shipped inside the package) whose other settings are
            ``options`` (fields of :class:`~revgnn.config.DataConfig`).
        root (str, optional): The data folder, for datasets that need one.
        explicit (iterable of str): Settings a user gave: one the dataset does not read is an
            error naming it.
    """
    if isinstance(cfg, str):
        cfg = DataConfig(dataset=cfg, root=root, **options)
    elif root is not None or options:
        cfg = replace(cfg, **({"root": root} if root is not None else {}), **options)
    cfg = canonical_dataset(cfg)
    entry = dataset_entry(cfg.dataset)
    unused = unused_data_settings(cfg)
    flags = {s.name: s.flag for s in settings_of(DataConfig)}
    for name in explicit:
        if name in unused:
            raise ValueError(f"--{flags[name]} is not used by {unused[name]}")
    if entry.info["needs_root"] and cfg.root is None:
        where = f" (it reads <root>/{entry.info['where']})" if entry.info["where"] else ""
        raise NoDataRoot(f"dataset {cfg.dataset!r} needs root= (--root), the data folder{where}")
    try:
        data = entry.obj(cfg.dataset, cfg.root, cfg)
    except Exception as e:
        if not _unreadable(e):
            raise
        where = osp.join(cfg.root or "<bundled>", entry.info["where"] or "")
        name = getattr(e, "filename", None) or (cfg.dataset if entry.info["suffixes"] else None)
        raise CorruptDataset(
            f"dataset {cfg.dataset!r}: {'file ' + str(name) if name else 'a file under ' + where}"
            f" could not be read ({type(e).__name__}: {e}): it is truncated or corrupt. Replace "
            "it (copy or download it again) and delete any processed/ folder next to it, which "
            "caches what was read before"
        ) from e
    if cfg.train_subset is not None:
        data = train_subset(data, cfg.train_subset, cfg.split_seed)
    return validate(data) if entry.info["kind"] == "node" else data


def _subset(train: Any, size: int, seed: int) -> Any:
    if size > len(train):
        raise ValueError(f"--train-subset {size} exceeds the {len(train)} training examples")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:size]
    if isinstance(train, list):
        return [train[i] for i in sorted(order.tolist())]
    return train[order.sort().values]


def train_subset(data: Any, size: int, seed: int) -> Any:
    """``data`` training on a seeded subset of ``size`` of its training examples (nodes,
    clouds, graphs): every kind's split is a ``train`` / ``valid`` / ``test`` mapping."""
    if isinstance(data, tuple):  # graphs: (OGB dataset, split)
        graphs, split = data
        return graphs, {**split, "train": _subset(split["train"], size, seed)}
    if isinstance(data, dict):  # inductive: lists of graphs per split
        return {**data, "train": _subset(data["train"], size, seed)}
    return replace(data, split={**data.split, "train": _subset(data.split["train"], size, seed)})
