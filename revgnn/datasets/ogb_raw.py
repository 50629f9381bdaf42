"""OGB's raw ``csv.gz`` reader at a fraction of its memory, with OGB's exact output.

ogb 1.3.6's ``read_csv_graph_raw`` parses every file whole with pandas into float64 (or
int64) and then casts: a peak of about 4.7x the float32 feature matrix it returns (386 MB of
RSS for ogbn-arxiv's 83 MB of node features, measured). :func:`read_csv_graph_raw` returns the
same graph list (same keys, dtypes and values) but parses each file in chunks of
:data:`CHUNK_ROWS` rows into an array allocated once at its final size, so reading a file peaks
at its result plus one chunk. The row counts come from ``num-node-list`` / ``num-edge-list``;
a file of another length is an error naming it, where ogb would slice silently.

:func:`~revgnn.datasets.ogb_guard.ogb_guard` puts it in place of ogb's reader while ogb's
dataset classes process a folder.
"""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["CHUNK_ROWS", "read_csv_array", "read_csv_graph_raw"]

#: Rows parsed at a time.
CHUNK_ROWS = 1 << 13


def read_csv_array(path: str, num_rows: int, force_int: bool = False) -> np.ndarray:
    """The ``(num_rows, columns)`` array of a header-less ``csv.gz`` file, as ogb types it:
    int64 when pandas reads every value as an integer, float32 otherwise (float64 values cast
    to float32, as ogb does), or int64 always with ``force_int``.

    Raises:
        ValueError: The file does not hold ``num_rows`` rows.
    """
    out: np.ndarray | None = None
    lo = 0
    for chunk in pd.read_csv(path, compression="gzip", header=None, chunksize=CHUNK_ROWS):
        values = chunk.to_numpy()
        hi = lo + len(values)
        if hi > num_rows:
            raise ValueError(
                f"{path} has more than num_rows={num_rows} rows (the count its graph's "
                "num-node-list / num-edge-list gives); the folder is inconsistent, "
                "write or download it again"
            )
        is_int = force_int or "int" in str(values.dtype)
        if out is None:
            out = np.empty((num_rows, values.shape[1]), np.int64 if is_int else np.float32)
        elif not is_int and out.dtype == np.int64:
            # A float in a later chunk makes the whole column float, as pandas would have.
            out = out.astype(np.float32)
        out[lo:hi] = values
        lo = hi
    if out is None or lo != num_rows:
        raise ValueError(
            f"{path} has {lo} rows, expected num_rows={num_rows} (from its graph's "
            "num-node-list / num-edge-list); the folder is inconsistent, write or download it "
            "again"
        )
    return out


def _counts(raw_dir: str, name: str) -> list[int]:
    return (
        pd.read_csv(osp.join(raw_dir, name), compression="gzip", header=None)
        .astype(np.int64)[0]
        .tolist()
    )


def _optional(path: str, num_rows: int) -> np.ndarray | None:
    return read_csv_array(path, num_rows) if osp.exists(path) else None


def read_csv_graph_raw(
    raw_dir: str,
    add_inverse_edge: bool = False,
    additional_node_files: Sequence[str] = (),
    additional_edge_files: Sequence[str] = (),
) -> list[dict]:
    """ogb's ``read_csv_graph_raw`` (``ogb.io.read_graph_raw``), chunked: the list of graphs
    of ``raw_dir``, each a dict of ``edge_index`` ``(2, E)``, ``edge_feat``, ``node_feat``,
    ``num_nodes`` and the additional node / edge arrays, equal to ogb's."""
    try:
        num_nodes = _counts(raw_dir, "num-node-list.csv.gz")
        num_edges = _counts(raw_dir, "num-edge-list.csv.gz")
        total_nodes, total_edges = sum(num_nodes), sum(num_edges)
        edge = read_csv_array(osp.join(raw_dir, "edge.csv.gz"), total_edges, force_int=True).T
    except FileNotFoundError as e:
        raise RuntimeError("No necessary file") from e
    node_feat = _optional(osp.join(raw_dir, "node-feat.csv.gz"), total_nodes)
    edge_feat = _optional(osp.join(raw_dir, "edge-feat.csv.gz"), total_edges)
    node_info, edge_info = {}, {}
    for name in additional_node_files:
        if not name.startswith("node_"):
            raise ValueError(f"additional node file {name!r} must start with 'node_'")
        # ogb's rename for ogbn-proteins' species file.
        old = osp.join(raw_dir, "species.csv.gz")
        if name == "node_species" and osp.exists(old):
            os.rename(old, osp.join(raw_dir, "node_species.csv.gz"))
        node_info[name] = read_csv_array(osp.join(raw_dir, name + ".csv.gz"), total_nodes)
    for name in additional_edge_files:
        if not name.startswith("edge_"):
            raise ValueError(f"additional edge file {name!r} must start with 'edge_'")
        edge_info[name] = read_csv_array(osp.join(raw_dir, name + ".csv.gz"), total_edges)

    graphs = []
    n0 = e0 = 0
    for n, e in zip(num_nodes, num_edges):
        graph: dict = {"edge_index": _edges_of(edge[:, e0 : e0 + e], add_inverse_edge)}
        graph["edge_feat"] = (
            None if edge_feat is None else _rows(edge_feat[e0 : e0 + e], add_inverse_edge)
        )
        for key, value in edge_info.items():
            graph[key] = _rows(value[e0 : e0 + e], add_inverse_edge)
        graph["node_feat"] = None if node_feat is None else node_feat[n0 : n0 + n]
        for key, value in node_info.items():
            graph[key] = value[n0 : n0 + n]
        graph["num_nodes"] = n
        graphs.append(graph)
        n0, e0 = n0 + n, e0 + e
    return graphs


def _edges_of(edge: np.ndarray, add_inverse_edge: bool) -> np.ndarray:
    """A graph's ``(2, E)`` edges, each followed by its inverse with ``add_inverse_edge``."""
    if not add_inverse_edge:
        return edge
    both = np.repeat(edge, 2, axis=1)
    both[0, 1::2] = both[1, 0::2]
    both[1, 1::2] = both[0, 0::2]
    return both


def _rows(values: np.ndarray, add_inverse_edge: bool) -> np.ndarray:
    """Per-edge rows, repeated for the inverse edges with ``add_inverse_edge``."""
    return np.repeat(values, 2, axis=0) if add_inverse_edge else values
