"""A user's own graph from one file: ``revgnn train --dataset my_graph.pt``.

The file is a ``torch.save`` of a PyG :class:`~torch_geometric.data.Data` or of a dict of
tensors (``.pt`` / ``.pth``), or a NumPy ``.npz`` of arrays, holding

* ``edge_index``: :math:`(2, E)` integers, required (floats are read where they hold whole
  numbers, as NumPy and pandas exports store them; a fraction, NaN, inf or a boolean is
  refused, not truncated), or else PyG's ``adj_t`` (``T.ToSparseTensor``'s sparse transposed
  adjacency, its values not read); the edges are used as given (store both directions of an
  undirected graph, as PyG does);
* ``y``: :math:`(N,)` integer class labels (multi-class, scored by accuracy; a label below 0
  marks an unlabelled node; OGB's :math:`(N, 1)` column of class labels is read as such) or
  :math:`(N, T)` 0/1 targets (multi-label, mean ROC-AUC over the :math:`T` tasks; a
  :math:`(N, 1)` column of 0/1 is a binary task);
* ``x``: :math:`(N, F)` node features, optional (without them the recipe's rules for a graph
  without features apply: the log-degree column and positional columns); a sparse tensor is
  made dense;
* ``edge_attr``: :math:`(E, D)` edge features, optional;
* a split, optional: PyG's boolean ``train_mask`` / ``val_mask`` / ``test_mask``, one 0/1
  entry per node (a 2-D mask :math:`(N, S)` holds :math:`S` splits: ``split_seed`` picks
  one), or index tensors ``train_idx`` / ``valid_idx`` / ``test_idx`` (whole numbers, as
  ``edge_index``). Without one, a seeded random 60/20/20 split of the labelled nodes is drawn
  (``split_seed``). Parts that share nodes are named in a warning
  (:func:`~revgnn.datasets.validate.validate`).

Any other field (``edge_weight``, ``pos``, ...) is not read, and a warning names it: store a
weighted graph's ``edge_weight`` as ``edge_attr`` of shape :math:`(E, 1)` to train on it.

A relative path is read from the working folder, or from ``root`` when one is given. A
``.pt`` file is read with ``weights_only=True`` (no code from the file runs), PyG's ``Data``
classes allowed. The graph is then validated as every dataset is
(:func:`~revgnn.datasets.validate.validate`). The same graph already in memory (a PyG
``Data``, or such a dict) is read by :func:`from_data`.
"""

from __future__ import annotations

import os.path as osp
import pickle
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset, random_split
from revgnn.datasets.ogb_guard import pyg_safe_globals
from revgnn.datasets.registry import CorruptDataset, register_dataset
from revgnn.utils.checks import is_sparse_adjacency
from revgnn.utils.sparse import edge_list
from revgnn.utils.warn import warn_user

__all__ = ["SUFFIXES", "from_data", "load_graph_file"]

#: The file endings read as a user's graph.
SUFFIXES = (".pt", ".pth", ".npz")

_MASKS = (("train", ("train_mask",)), ("valid", ("val_mask", "valid_mask")),
          ("test", ("test_mask",)))  # fmt: skip
_INDICES = (("train", ("train_idx",)), ("valid", ("valid_idx", "val_idx")),
            ("test", ("test_idx",)))  # fmt: skip


#: The fields the reader reads (the module docstring); any other is named in a warning.
_READ = frozenset(
    (
        "edge_index",
        "adj_t",
        "y",
        "x",
        "edge_attr",
        "num_nodes",
        *(k for _, ks in _MASKS + _INDICES for k in ks),
    )
)


def _warn_unread(fields: dict[str, Any], path: str) -> None:
    unread = sorted(k for k in fields if k not in _READ)
    if not unread:
        return
    hint = (
        "; to train on edge_weight, store it as edge_attr of shape (E, 1)"
        if "edge_weight" in unread
        else ""
    )
    warn_user(
        f"{path}: {', '.join(unread)} not read (a graph's fields are edge_index, y, x, "
        f"edge_attr and a split: train_mask / val_mask / test_mask or train_idx / valid_idx / "
        f"test_idx){hint}"
    )


def _load(path: str) -> Any:
    if path.lower().endswith(".npz"):
        with np.load(path, allow_pickle=False) as raw:
            return {k: raw[k] for k in raw.files}  # NumPy arrays: checked by _tensors
    with pyg_safe_globals():
        return torch.load(path, map_location="cpu", weights_only=True)


def _tensors(arrays: dict[str, np.ndarray], path: str) -> dict[str, Tensor]:
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            hint = (
                ": store class labels as integers 0..C-1 (np.unique(y, return_inverse=True)[1])"
                if key == "y"
                else ": store numbers"
            )
            raise ValueError(f"{path}: {key} holds {array.dtype} values, not numbers{hint}")
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def _read(path: str) -> dict[str, Any]:
    try:
        obj = _load(path)
    except pickle.UnpicklingError as e:
        if "Weights only load failed" not in str(e):
            raise CorruptDataset(f"graph file {path} could not be read ({e})") from None
        raise ValueError(
            f"{path} holds objects other than tensors and PyG's Data, which are not read (no "
            "code from a file runs): save a torch_geometric.data.Data or a dict of tensors "
            "(torch.save(data.to_dict(), path) for a Data that carries cached state, as after "
            "T.ToSparseTensor)"
        ) from None
    except Exception as e:  # whatever a foreign or damaged file makes the readers raise
        raise CorruptDataset(
            f"graph file {path} could not be read ({type(e).__name__}: {e}): it is truncated, "
            "or not written by torch.save (.pt, .pth) or numpy.savez (.npz)"
        ) from None
    if isinstance(obj, Data):
        return obj.to_dict()
    if isinstance(obj, dict):
        arrays = {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}
        return {**obj, **_tensors(arrays, path)}
    raise ValueError(
        f"{path} holds a {type(obj).__name__}; save a torch_geometric.data.Data or a dict of "
        "tensors (edge_index, y, and optionally x, edge_attr, train_mask / val_mask / test_mask)"
    )


def _tensor(fields: dict[str, Any], key: str, path: str) -> Tensor | None:
    value = fields.get(key)
    if value is None or isinstance(value, Tensor):
        return value
    raise ValueError(f"{path}: {key} is a {type(value).__name__}, expected a tensor")


def _edges(fields: dict[str, Any], path: str) -> Tensor:
    """``edge_index``, or the edges of PyG's ``adj_t`` (``T.ToSparseTensor``'s transposed
    adjacency: targets as rows) when there is none."""
    edge_index = _tensor(fields, "edge_index", path)
    if edge_index is not None:
        return edge_index
    adj_t = fields.get("adj_t")
    if adj_t is None:
        raise ValueError(
            f"{path} has no edge_index: store the edges as a (2, E) tensor (or PyG's adj_t)"
        )
    if not is_sparse_adjacency(adj_t):
        raise ValueError(
            f"{path}: adj_t is a {type(adj_t).__name__}, expected a sparse adjacency (PyG's "
            "ToSparseTensor)"
        )
    if fields.get("edge_attr") is not None:
        raise ValueError(
            f"{path}: edge_attr comes with adj_t but no edge_index, so its rows cannot be "
            "matched to edges: store edge_index with it"
        )
    edge_index, values = edge_list(adj_t)
    if values is not None and not bool((values == 1).all()):
        warn_user(
            f"{path}: adj_t's values are not read; to train on them as edge weights, store "
            "edge_index and the values as edge_attr of shape (E, 1)"
        )
    return edge_index


def _dense(x: Tensor) -> Tensor:
    """Node features as a dense tensor: a sparse one (COO or CSR, as scipy exports give) is
    made dense, as every feature rule reads it; bag-of-words rows get the encoder's own CSR
    copy again (:mod:`revgnn.nn.sparse_input`)."""
    return x if x.layout == torch.strided else x.to_dense()


def _indices(t: Tensor, key: str, path: str) -> Tensor:
    """Node indices as int64: integers, or floats that hold whole numbers (NumPy and pandas
    exports); a fraction, NaN, inf or a boolean tensor is refused, not truncated."""
    if t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"{path}: {key} is {t.dtype}; it must hold node indices (integers)")
    if t.is_floating_point() and not _whole(t):
        raise ValueError(
            f"{path}: {key} holds fractional or non-finite values; node indices must be whole "
            "numbers"
        )
    return t.long()


def _zero_one(y: Tensor) -> bool:
    """Whether every target is 0, 1 or NaN (unknown): a binary or multi-label task."""
    return bool(((y == 0) | (y == 1) | torch.isnan(y.float())).all())


def _whole(t: Tensor) -> bool:
    return bool(torch.isfinite(t).all()) and torch.equal(t, t.round())


def _mask(t: Tensor, key: str, path: str, num_nodes: int) -> Tensor:
    """A split mask: one entry per node (a column per split if 2-D), every entry 0 or 1."""
    if t.size(0) != num_nodes:
        raise ValueError(
            f"{path}: {key} has {t.size(0)} entries for {num_nodes} nodes: a mask has one per "
            "node (node indices go in train_idx / valid_idx / test_idx)"
        )
    if t.dtype != torch.bool and not bool(((t == 0) | (t == 1)).all()):
        raise ValueError(
            f"{path}: {key} holds values other than 0 and 1: a mask is boolean (node indices go "
            "in train_idx / valid_idx / test_idx)"
        )
    return t


def _given_split(
    fields: dict[str, Any], path: str, seed: int, num_nodes: int
) -> tuple[dict, str] | None:
    for kind, parts in (("mask", _MASKS), ("idx", _INDICES)):
        found = {p: next((k for k in keys if k in fields), None) for p, keys in parts}
        if not any(found.values()):
            continue
        missing = [keys[0] for (p, keys) in parts if found[p] is None]
        if missing:
            raise ValueError(f"{path}: a split needs {', '.join(missing)} as well")
        if kind == "idx":
            split = {p: _indices(_tensor(fields, k, path), k, path).view(-1)
                     for p, k in found.items()}  # fmt: skip
            return split, "given split (train_idx / valid_idx / test_idx)"
        masks = {p: _mask(_tensor(fields, k, path), k, path, num_nodes) for p, k in found.items()}
        columns = {m.size(1) for m in masks.values() if m.dim() == 2}
        info = "given split (train_mask / val_mask / test_mask)"
        if columns:
            count = columns.pop()
            if not 0 <= seed < count:
                raise ValueError(f"split_seed={seed} must lie in [0, {count}): {path} holds "
                                 f"{count} splits as mask columns")  # fmt: skip
            masks = {p: m[:, seed] if m.dim() == 2 else m for p, m in masks.items()}
            info = f"given split {seed} of {count} (mask columns)"
        return {p: m.bool().nonzero().view(-1) for p, m in masks.items()}, info
    return None


def _labels(y: Tensor | None, path: str) -> tuple[Tensor, int, str, str, Tensor]:
    """The labels as NodeDataset takes them, the output width, task, metric, and which nodes
    are labelled."""
    if y is None:
        raise ValueError(f"{path} has no y: store the node labels as y")
    if y.dim() == 2 and y.size(1) == 1 and not _zero_one(y):
        y = y.view(-1)  # class labels as a column, OGB's layout (ogbn-arxiv, ogbn-products)
    if y.dim() == 2:
        labelled = ~torch.isnan(y.float()).any(1)
        return y.float(), int(y.size(1)), "multilabel", "rocauc", labelled
    if y.dim() != 1:
        raise ValueError(f"{path}: y must be (N,) class labels or (N, T) 0/1 targets, got "
                         f"shape {tuple(y.shape)}")  # fmt: skip
    if y.is_floating_point():
        if not _whole(y):
            raise ValueError(
                f"{path}: y holds fractional or non-finite values; class labels must be "
                "integers (-1 for an unlabelled node), or store (N, T) 0/1 targets for a "
                "multi-label task"
            )
        y = y.long()
    labelled = y >= 0
    if not labelled.any():
        raise ValueError(f"{path}: no node has a label (y >= 0)")
    return y, int(y.max()) + 1, "multiclass", "acc", labelled


# Registered under a name that reads as what to give, in the lists of datasets.
@register_dataset(
    "FILE.pt", needs_root=False, reads=("split_seed",), where="the file", suffixes=SUFFIXES
)
def load_graph_file(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    """The graph in the file ``name`` (see the module docstring), as a node dataset."""
    path = name if root is None or osp.isabs(name) else osp.join(root, name)
    if not osp.exists(path):
        raise FileNotFoundError(f"graph file {path} does not exist")
    return _node_dataset(_read(path), path, osp.basename(path), cfg.split_seed)


def from_data(data: Data | dict[str, Any], name: str = "graph", split_seed: int = 0) -> NodeDataset:
    """A graph in memory, a PyG :class:`~torch_geometric.data.Data` or a dict of tensors
    (or NumPy arrays) with the fields of a graph file (see the module docstring), as a node
    dataset, read by the same rules: what :func:`revgnn.train` and
    :class:`~revgnn.training.NodeTask` do with a ``Data`` (PyG's Planetoid, Amazon, ...
    datasets' ``dataset[0]``, masks and all).

    Args:
        data (Data or dict): The graph.
        name (str): The dataset's name in messages and logs. (default: ``"graph"``)
        split_seed (int): The column of 2-D masks, or the seed of the random split drawn
            when there is none. (default: ``0``)
    """
    if isinstance(data, Data):
        data = data.to_dict()
    if not isinstance(data, dict):
        raise TypeError(
            f"data must be a torch_geometric.data.Data or a dict of tensors, got "
            f"{type(data).__name__}"
        )
    arrays = {k: v for k, v in data.items() if isinstance(v, np.ndarray)}
    return _node_dataset({**data, **_tensors(arrays, name)}, name, name, split_seed)


def _node_dataset(fields: dict[str, Any], path: str, name: str, split_seed: int) -> NodeDataset:
    _warn_unread(fields, path)
    edge_index = _edges(fields, path)
    y, width, task, metric, labelled = _labels(_tensor(fields, "y", path), path)
    x = _tensor(fields, "x", path)
    num_nodes = int(y.size(0))
    if x is not None and x.size(0) != num_nodes:
        raise ValueError(f"{path}: x has {x.size(0)} rows but y has {num_nodes}")
    data = Data(
        x=None if x is None else _dense(x).float(),
        edge_index=_indices(edge_index, "edge_index", path),
        y=y,
        num_nodes=num_nodes,
    )
    edge_attr = _tensor(fields, "edge_attr", path)
    if edge_attr is not None:
        data.edge_attr = edge_attr.float().view(edge_attr.size(0), -1)
    given = _given_split(fields, path, split_seed, num_nodes)
    if given is None:
        nodes = labelled.nonzero().view(-1)
        split = {k: nodes[v] for k, v in random_split(nodes.numel(), 0.6, 0.2, split_seed).items()}
        info = f"random 60/20/20 split of the labelled nodes, seed={split_seed}"
    else:
        split, info = given
    return NodeDataset(name, data, split, width, task, metric, split_info=info)
