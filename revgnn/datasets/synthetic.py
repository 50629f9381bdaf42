r"""Synthetic graphs shaped like ogbn-proteins, ogbn-arxiv and ogbn-products.

Each graph has the feature widths, label kinds, edge storage and split names of its OGB
model, at a chosen size ``num_nodes`` and average degree ``avg_degree`` (stored edges per
node once both directions are stored; arxiv's raw edges are directed, half as many), with
labels that the graph makes learnable:

* nodes belong to planted communities; an edge stays inside its source's community with
  probability ``0.8``;
* degrees are heavy-tailed: both ends of an edge are drawn in proportion to log-normal node
  weights (Chung-Lu; :data:`DEGREE_SIGMA`), without self-loops or repeated pairs, and the
  number of raw edges can be set exactly (:data:`OGB_SIZES`: the real graphs' counts, for
  full-size rehearsals such as ``benchmarks/ogb_scale.py``);
* ``"proteins"``: 8 species (the communities), 8-d edge features in ``[0, 1]`` (3 decimals,
  like OGB's) that mix hidden 8-d node vectors of both ends, 112 binary tasks that are
  thresholded linear functions of the hidden vectors (so the sum of incident edge features
  predicts them), species and a species-wise split;
* ``"arxiv"``: 128-d float features around a class centroid, 40 classes, directed edges,
  publication years and a time split (train <= 2017, valid 2018, test >= 2019);
* ``"products"``: 100-d float features, 47 classes, a split of 8% / 2% / 90%.

:func:`synthetic_dataset` returns the graph in memory (prepared exactly as
:func:`~revgnn.datasets.load_ogb` prepares the real one); :func:`write_ogb_layout` writes it
as an OGB dataset folder (``raw/*.csv.gz``, ``split/``, ``RELEASE_v1.txt``), for tests and
benchmarks of the real loading path.
"""

from __future__ import annotations

import os
import os.path as osp

import numpy as np
import torch
from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.csv_gz import write_csv_gz
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.ogbn import OGB_SPLITS, ogb_to_node_dataset
from revgnn.datasets.registry import register_dataset

__all__ = [
    "DEGREE_SIGMA",
    "OGB_SIZES",
    "SYNTHETIC_KINDS",
    "synthetic_dataset",
    "synthetic_raw",
    "write_ogb_layout",
]

SYNTHETIC_KINDS = ("proteins", "arxiv", "products")
_SPECIES = np.array([3702, 4932, 6239, 7227, 7955, 9606, 10090, 511145])

#: The real graphs' sizes: nodes and raw edges (rows of OGB's ``edge.csv.gz``).
OGB_SIZES = {
    "proteins": (132_534, 39_561_252),
    "arxiv": (169_343, 1_166_243),
    "products": (2_449_029, 61_859_140),
}

#: Sigma of the log-normal degree weights: protein interactions are the least skewed,
#: citations the most (a few papers are cited by thousands).
DEGREE_SIGMA = {"proteins": 0.7, "arxiv": 1.5, "products": 1.2}


def _endpoints(
    rng: np.random.Generator, comm: np.ndarray, weight: np.ndarray, count: int
) -> tuple[np.ndarray, np.ndarray]:
    """``count`` candidate edges: both ends drawn with probability proportional to ``weight``
    (Chung-Lu), the second end inside the first one's community with probability 0.8."""
    n = comm.size
    cdf = np.cumsum(weight)
    src = np.minimum(np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right"), n - 1)
    dst = np.minimum(np.searchsorted(cdf, rng.random(count) * cdf[-1], side="right"), n - 1)
    # Nodes sorted by community: community c's members are a contiguous run of the
    # cumulative weights, so one searchsorted draws inside every community at once.
    order = np.argsort(comm, kind="stable")
    sorted_cdf = np.cumsum(weight[order])
    ends = np.searchsorted(comm[order], np.arange(comm.max() + 2), side="left")
    low = np.concatenate([[0.0], sorted_cdf])[ends[:-1]]
    high = np.concatenate([[0.0], sorted_cdf])[ends[1:]]
    inside = np.flatnonzero(rng.random(count) < 0.8)
    c = comm[src[inside]]
    u = low[c] + rng.random(inside.size) * (high[c] - low[c])
    pick = np.minimum(np.searchsorted(sorted_cdf, u, side="right"), ends[c + 1] - 1)
    dst[inside] = order[pick]
    return src, dst


def _edges(
    rng: np.random.Generator, comm: np.ndarray, weight: np.ndarray, num_raw: int, undirected: bool
) -> np.ndarray:
    """Exactly ``num_raw`` edges without self-loops or repeated pairs (in either direction),
    sorted by (source, target) with source < target for undirected graphs (OGB stores them
    so), in a random direction for directed ones."""
    n = comm.size
    keys = np.empty(0, dtype=np.int64)
    for _ in range(20):
        src, dst = _endpoints(rng, comm, weight, int((num_raw - keys.size) * 1.1) + 64)
        src, dst = np.minimum(src, dst), np.maximum(src, dst)
        new = src[src != dst] * n + dst[src != dst]
        keys = np.unique(np.concatenate([keys, new]))
        if keys.size >= num_raw:
            break
    else:
        raise ValueError(
            f"num_raw_edges={num_raw} distinct edges do not fit {n} nodes; lower the degree"
        )
    keys = np.sort(rng.choice(keys, num_raw, replace=False))
    edge = np.stack([keys // n, keys % n])
    if not undirected:
        flip = rng.random(num_raw) < 0.5
        edge[:, flip] = edge[::-1, flip]
    return edge


def synthetic_raw(
    kind: str,
    num_nodes: int,
    avg_degree: float,
    seed: int = 0,
    *,
    num_raw_edges: int | None = None,
) -> dict[str, np.ndarray]:
    """The graph as OGB's raw files hold it (edges once where OGB adds the inverse).

    Degrees are heavy-tailed like those of the real graphs: every node gets a log-normal
    weight (:data:`DEGREE_SIGMA`: sigma of its logarithm) and both ends of each edge are
    drawn with probability proportional to it (Chung-Lu), so a node's expected degree is
    proportional to its weight; duplicate edges and self-loops are redrawn.

    Args:
        kind (str): ``"proteins"``, ``"arxiv"`` or ``"products"``.
        num_nodes (int): Number of nodes.
        avg_degree (float): Stored edges per node once both directions are stored.
        seed (int): Seed of the generator.
        num_raw_edges (int, optional): Exact number of raw edges (rows of ``edge.csv.gz``),
            instead of the count ``avg_degree`` gives; :data:`OGB_SIZES` has the real ones.

    Returns numpy arrays: ``edge`` :math:`(2, E_{raw})`, ``edge_feat`` or ``node_feat``,
    ``node_label``, ``node_species`` or ``node_year`` (as stored), and ``train``, ``valid``,
    ``test`` node indices.
    """
    if kind not in SYNTHETIC_KINDS:
        raise ValueError(f"kind={kind!r} must be one of {SYNTHETIC_KINDS}")
    if num_nodes < 20:
        raise ValueError(f"num_nodes={num_nodes} must be at least 20")
    if avg_degree <= 0:
        raise ValueError(f"avg_degree={avg_degree} must be positive")
    rng = np.random.default_rng(seed)
    n = num_nodes
    num_comm = {"proteins": 8, "arxiv": 40, "products": 47}[kind]
    comm = rng.integers(0, num_comm, n)
    weight = rng.lognormal(0.0, DEGREE_SIGMA[kind], n)
    # Each raw edge becomes two stored ones: OGB adds the inverse of proteins' and products'
    # edges when loading, and arxiv's directed edges are symmetrised by load_ogb.
    num_raw = num_raw_edges if num_raw_edges is not None else max(1, round(n * avg_degree / 2))
    edge = _edges(rng, comm, weight, num_raw, undirected=kind != "arxiv")
    out: dict[str, np.ndarray] = {"edge": edge}

    if kind == "proteins":
        hidden = rng.random((n, 8)).astype(np.float32)
        feat = np.empty((num_raw, 8), dtype=np.float32)
        for lo in range(0, num_raw, 1 << 22):  # in blocks: 39.5M x 8 float64 temporaries
            src, dst = edge[0, lo : lo + (1 << 22)], edge[1, lo : lo + (1 << 22)]
            noise = rng.standard_normal((src.size, 8), dtype=np.float32)
            mix = 0.5 * (hidden[src] + hidden[dst]) + 0.1 * noise
            feat[lo : lo + src.size] = np.round(np.clip(mix, 0.001, 1.0), 3)
        out["edge_feat"] = feat
        weights = rng.standard_normal((8, 112))
        logits = (hidden - 0.5) @ weights + 0.3 * rng.standard_normal((n, 112))
        out["node_label"] = (logits > np.quantile(logits, 0.7, axis=0)).astype(np.int64)
        out["node_species"] = _SPECIES[comm].reshape(-1, 1)
        # Species-wise split as in OGB: whole species go to train, valid or test.
        order = rng.permutation(num_comm)
        part = np.empty(num_comm, dtype=np.int64)
        part[order[:5]], part[order[5:6]], part[order[6:]] = 0, 1, 2
        node_part = part[comm]
    else:
        dim = 128 if kind == "arxiv" else 100
        centroids = rng.standard_normal((num_comm, dim)).astype(np.float32)
        x = centroids[comm]
        x += 1.5 * rng.standard_normal((n, dim), dtype=np.float32)
        for lo in range(0, n, 1 << 16):  # to the 4 decimals the files hold, exactly as read
            x[lo : lo + (1 << 16)] = np.round(x[lo : lo + (1 << 16)].astype(np.float64), 4)
        out["node_feat"] = x
        out["node_label"] = comm.reshape(-1, 1).astype(np.int64)
        u = rng.random(n)
        if kind == "arxiv":
            year = np.where(u < 0.54, rng.integers(1990, 2018, n), np.where(u < 0.72, 2018, 2019))
            year = np.where(u >= 0.86, 2020, year)
            out["node_year"] = year.reshape(-1, 1).astype(np.int64)
            node_part = np.where(year <= 2017, 0, np.where(year == 2018, 1, 2))
        else:
            node_part = np.where(u < 0.08, 0, np.where(u < 0.10, 1, 2))
    for i, name in enumerate(("train", "valid", "test")):
        idx = np.flatnonzero(node_part == i)
        if idx.size == 0:  # tiny graphs: every part gets at least one node
            idx = rng.choice(n, 1)
        out[name] = idx.astype(np.int64)
    return out


def _to_data(kind: str, raw: dict[str, np.ndarray], num_nodes: int) -> Data:
    # What ogb's read_graph_pyg builds from the raw files (inverse edges interleaved).
    edge = raw["edge"]
    if kind != "arxiv":
        both = np.repeat(edge, 2, axis=1)
        both[0, 1::2], both[1, 1::2] = edge[1], edge[0]
        edge = both
    data = Data(edge_index=torch.from_numpy(edge), num_nodes=num_nodes)
    if "edge_feat" in raw:
        data.edge_attr = torch.from_numpy(np.repeat(raw["edge_feat"], 2, axis=0))
    if "node_feat" in raw:
        data.x = torch.from_numpy(raw["node_feat"])
    for key in ("node_species", "node_year"):
        if key in raw:
            data[key] = torch.from_numpy(raw[key])
    data.y = torch.from_numpy(raw["node_label"])
    return data


def synthetic_dataset(
    kind: str,
    num_nodes: int = 2000,
    avg_degree: float = 20.0,
    seed: int = 0,
    *,
    proteins_node_features: str = "sum",
    species: bool = False,
) -> NodeDataset:
    """An OGB-shaped synthetic :class:`NodeDataset`, scored by OGB's ``Evaluator``.

    Args:
        kind (str): ``"proteins"``, ``"arxiv"`` or ``"products"``.
        num_nodes (int): Number of nodes :math:`N`.
        avg_degree (float): Average number of stored (directed) edges per node.
        seed (int): Seed of the generator.
        proteins_node_features (str), species (bool): As for ``load_ogb``.
    """
    raw = synthetic_raw(kind, num_nodes, avg_degree, seed)
    split = {k: torch.from_numpy(raw[k]) for k in ("train", "valid", "test")}
    ds = ogb_to_node_dataset(
        f"ogbn-{kind}",
        _to_data(kind, raw, num_nodes),
        split,
        proteins_node_features=proteins_node_features,
        species=species,
    )
    ds.name = f"synthetic-{kind}"
    ds.split_info = f"synthetic {OGB_SPLITS[ds.ogb_name]} split (seed={seed})"
    ds.notes = "; ".join(
        s for s in (f"N={num_nodes}, avg degree {avg_degree:g}, seed {seed}", ds.notes) if s
    )
    return ds


def write_ogb_layout(
    kind: str,
    root: str,
    num_nodes: int = 200,
    avg_degree: float = 8.0,
    seed: int = 0,
    *,
    num_raw_edges: int | None = None,
) -> str:
    """Write a synthetic graph as OGB's dataset folder ``root/ogbn_<kind>/``; return it.

    The files are those of OGB's zip (``raw/*.csv.gz``, ``split/<split>/*.csv.gz``) plus
    ``RELEASE_v1.txt``; features are written with 3 (edge) or 4 (node) decimals. The full-size
    graphs: ``write_ogb_layout(kind, root, *OGB_SIZES[kind][:1], num_raw_edges=OGB_SIZES[kind][1])``
    (ogbn-products: 1.2 GB of raw files, 8 minutes and 6.4 GB of RSS on one core).
    """
    raw = synthetic_raw(kind, num_nodes, avg_degree, seed, num_raw_edges=num_raw_edges)
    folder = osp.join(root, f"ogbn_{kind}")
    os.makedirs(osp.join(folder, "raw"), exist_ok=True)
    split_dir = osp.join(folder, "split", OGB_SPLITS[f"ogbn-{kind}"])
    os.makedirs(split_dir, exist_ok=True)
    edge = raw["edge"]
    files = {
        "edge": edge.T,
        "num-node-list": np.array([[num_nodes]]),
        "num-edge-list": np.array([[edge.shape[1]]]),
        "node-label": raw["node_label"],
    }
    decimals = {"edge-feat": 3, "node-feat": 4}
    for key in ("edge_feat", "node_feat", "node_species", "node_year"):
        if key in raw:
            files[key.replace("_feat", "-feat")] = raw[key]
    for file, arr in files.items():
        write_csv_gz(osp.join(folder, "raw", f"{file}.csv.gz"), arr, decimals.get(file))
    for part in ("train", "valid", "test"):
        write_csv_gz(osp.join(split_dir, f"{part}.csv.gz"), raw[part].reshape(-1, 1))
    with open(osp.join(folder, "RELEASE_v1.txt"), "w") as f:
        f.write(f"synthetic ogbn-{kind}-shaped graph written by revgnn (seed {seed})\n")
    return folder


@register_dataset(
    *(f"synthetic-{k}" for k in SYNTHETIC_KINDS),
    needs_root=False,
    reads=("num_nodes", "avg_degree", "proteins_node_features", "species"),
)
def load_synthetic(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    """``synthetic-<kind>`` of ``cfg.num_nodes`` nodes, seeded by ``cfg.split_seed``."""
    return synthetic_dataset(
        name.removeprefix("synthetic-"),
        cfg.num_nodes,
        cfg.avg_degree,
        cfg.split_seed,
        proteins_node_features=cfg.proteins_node_features,
        species=cfg.species,
    )
