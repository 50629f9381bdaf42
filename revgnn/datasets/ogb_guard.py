"""Running ogb 1.3.6's loaders unattended under torch >= 2.6.

ogb calls ``torch.load`` on its processed files with the default ``weights_only=True`` of
torch >= 2.6, which rejects PyG's classes: they are allowed only for the duration of the call
(:func:`torch.serialization.safe_globals`). ogb asks on stdin whether to delete a folder that
lacks ``RELEASE_v1.txt`` (an ``EOFError`` or a hang without a terminal): its ``input`` is
replaced by one that raises while the guard is active. Its raw ``csv.gz`` reader is replaced
by :func:`revgnn.datasets.ogb_raw.read_csv_graph_raw` (the same graphs at a fraction of the
memory) while the guard is active.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch_geometric.data import Data

__all__ = ["ogb_guard", "pyg_safe_globals", "refuse_input"]


def refuse_input(prompt: str = "") -> str:
    raise RuntimeError(
        f"ogb asked on stdin: {prompt.strip()!r}; revgnn never answers ogb's prompts. "
        "Check the dataset folder (see revgnn.datasets.ogbn.check_ogb_folder)."
    )


def _pyg_classes() -> list[type]:
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import EdgeStorage, GlobalStorage, NodeStorage

    return [Data, DataEdgeAttr, DataTensorAttr, GlobalStorage, NodeStorage, EdgeStorage]


def pyg_safe_globals() -> contextlib.AbstractContextManager:
    """``torch.load(..., weights_only=True)`` may read PyG ``Data`` objects in this context."""
    return torch.serialization.safe_globals(_pyg_classes())


@contextlib.contextmanager
def ogb_guard() -> Iterator[None]:
    """Allow PyG's classes for ``torch.load`` and refuse ogb's stdin prompts, for the duration
    of the context only (nothing global changes; nothing loads with ``weights_only=False``),
    and let ogb parse raw files with :func:`~revgnn.datasets.ogb_raw.read_csv_graph_raw`."""
    from ogb.graphproppred import dataset_pyg as graph_pyg
    from ogb.io import read_graph_pyg
    from ogb.nodeproppred import dataset_pyg as node_pyg
    from ogb.utils import url as ogb_url

    from revgnn.datasets.ogb_raw import read_csv_graph_raw

    modules = (node_pyg, graph_pyg, ogb_url)
    # A module global shadows the builtin for code in that module only.
    for m in modules:
        m.input = refuse_input
    ogb_reader = read_graph_pyg.read_csv_graph_raw
    read_graph_pyg.read_csv_graph_raw = read_csv_graph_raw
    try:
        with pyg_safe_globals():
            yield
    finally:
        read_graph_pyg.read_csv_graph_raw = ogb_reader
        for m in modules:
            if getattr(m, "input", None) is refuse_input:
                del m.input
