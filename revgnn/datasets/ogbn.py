r"""OGB node-property datasets (ogbn-proteins, ogbn-arxiv, ogbn-products) from a local folder.

Loading goes through OGB's own ``PygNodePropPredDataset``, made safe for unattended use:

* :func:`~revgnn.datasets.ogb_guard.ogb_guard` lets ogb 1.3.6's ``torch.load`` read PyG's
  classes under torch >= 2.6 and refuses its stdin prompts; a folder that lacks
  ``RELEASE_v1.txt`` (where ogb would prompt) gets a clear error first.
* A missing raw or split file gets an error naming the file and the folder it belongs in,
  before ogb would try to download it. Downloading happens only with ``download=True``.
* ogb's raw ``csv.gz`` reader is replaced, for the call, by
  :func:`~revgnn.datasets.ogb_raw.read_csv_graph_raw`: the same arrays, parsed in chunks
  (ogb's own reader peaks at 4.7x the features it returns).

ogbn-proteins is prepared as in DeeperGCN / RevGNN: node features are the sum (or mean) of
the 8-d features of the incident edges, optionally with a one-hot of the species; the edge
features stay on the graph for the model's edge encoder. The derived tensors are cached in
the dataset's ``processed/`` folder.
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import shutil

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from revgnn.config.data import DataConfig
from revgnn.datasets.node_dataset import NodeDataset
from revgnn.datasets.ogb_guard import ogb_guard
from revgnn.datasets.registry import register_dataset
from revgnn.utils.sparse import undirected_edges

__all__ = [
    "OGB_DATASETS",
    "OGB_SPLITS",
    "check_ogb_folder",
    "download_ogb",
    "load_ogb",
    "ogb_to_node_dataset",
    "prepare_proteins",
]

OGB_DATASETS = ("ogbn-proteins", "ogbn-arxiv", "ogbn-products")

# Raw files each dataset needs (ogb's master.csv: node/edge files plus the additional ones)
# and the name of its split folder.
_RAW_FILES = {
    "ogbn-proteins": (
        "edge.csv.gz",
        "edge-feat.csv.gz",
        "node-label.csv.gz",
        "node_species.csv.gz",
        "num-node-list.csv.gz",
        "num-edge-list.csv.gz",
    ),
    "ogbn-arxiv": (
        "edge.csv.gz",
        "node-feat.csv.gz",
        "node-label.csv.gz",
        "node_year.csv.gz",
        "num-node-list.csv.gz",
        "num-edge-list.csv.gz",
    ),
    "ogbn-products": (
        "edge.csv.gz",
        "node-feat.csv.gz",
        "node-label.csv.gz",
        "num-node-list.csv.gz",
        "num-edge-list.csv.gz",
    ),
}
OGB_SPLITS = {"ogbn-proteins": "species", "ogbn-arxiv": "time", "ogbn-products": "sales_ranking"}


def _meta(name: str) -> dict[str, str]:
    import pandas as pd
    from ogb import nodeproppred

    master = pd.read_csv(
        osp.join(osp.dirname(nodeproppred.__file__), "master.csv"),
        index_col=0,
        keep_default_na=False,
    )
    return master[name].to_dict()


def _folder(name: str, root: str) -> str:
    # ogb's own rule: a "<dir>_pyg" folder wins when it exists.
    dir_name = name.replace("-", "_")
    pyg = osp.join(root, dir_name + "_pyg")
    return pyg if osp.isdir(pyg) else osp.join(root, dir_name)


def _check_name(name: str) -> None:
    if name not in OGB_DATASETS:
        raise ValueError(f"name={name!r} is not one of the supported OGB datasets {OGB_DATASETS}")


def check_ogb_folder(name: str, root: str) -> str:
    """Check that ``root`` holds a complete OGB copy of ``name``; return its folder.

    Raises :class:`FileNotFoundError` naming the missing folder, marker, raw or split file
    and where it belongs.
    """
    _check_name(name)
    folder = _folder(name, root)
    meta = _meta(name)
    zip_name = meta["url"].rsplit("/", 1)[-1]
    how = (
        f"extract OGB's {zip_name} ({meta['url']}) and move its {meta['download_name']}/ "
        f"folder to {folder}, or pass download=True (--download)"
    )
    if not osp.isdir(folder):
        raise FileNotFoundError(f"{name}: no dataset folder {folder}; {how}")
    marker = osp.join(folder, f"RELEASE_v{meta['version']}.txt")
    if not osp.exists(marker):
        raise FileNotFoundError(
            f"{name}: {folder} lacks {osp.basename(marker)}, so ogb would stop and ask on "
            f"stdin whether to delete it. If the folder holds the complete version-"
            f"{meta['version']} files, create the marker (touch {marker}); otherwise delete "
            "the folder and load again with download=True (--download)"
        )
    # PyG's Dataset looks for the raw files (and downloads when they are missing) even when
    # the processed file exists, so they are always required.
    raw = osp.join(folder, "raw")
    for file in _RAW_FILES[name]:
        path = osp.join(raw, file)
        # ogb renames proteins' species.csv.gz to node_species.csv.gz itself.
        alt = osp.join(raw, "species.csv.gz") if file == "node_species.csv.gz" else None
        if not osp.exists(path) and not (alt and osp.exists(alt)):
            raise FileNotFoundError(
                f"{name}: raw file {file} is missing; it belongs at {path} "
                f"(it is part of {zip_name}: {how})"
            )
    split_dir = osp.join(folder, "split", OGB_SPLITS[name])
    if not osp.exists(osp.join(split_dir, "split_dict.pt")):
        for part in ("train", "valid", "test"):
            path = osp.join(split_dir, f"{part}.csv.gz")
            if not osp.exists(path):
                raise FileNotFoundError(
                    f"{name}: split file {part}.csv.gz is missing; it belongs at {path} "
                    f"(it is part of {zip_name}: {how})"
                )
    return folder


def download_ogb(name: str, root: str) -> str:
    """Download and extract OGB's zip of ``name`` into ``root`` (no prompt); return the folder."""
    _check_name(name)
    from ogb.utils.url import download_url, extract_zip

    meta = _meta(name)
    os.makedirs(root, exist_ok=True)
    folder = osp.join(root, name.replace("-", "_"))
    path = download_url(meta["url"], root)
    extract_zip(path, root)
    os.unlink(path)
    extracted = osp.join(root, meta["download_name"])
    if osp.abspath(extracted) != osp.abspath(folder):
        if osp.isdir(folder):
            shutil.rmtree(folder)
        shutil.move(extracted, folder)
    marker = osp.join(folder, f"RELEASE_v{meta['version']}.txt")
    if not osp.exists(marker):
        with open(marker, "w") as f:
            f.write(f"{name} version {meta['version']} downloaded by revgnn from {meta['url']}\n")
    return folder


def prepare_proteins(
    data: Data,
    node_features: str = "sum",
    species: bool = False,
    cache_dir: str | None = None,
) -> Data:
    r"""Node features for ogbn-proteins (which has none) from its edge features.

    .. math::

        \mathbf{x}_v = \operatorname{sum\ or\ mean}_{u \in \mathcal{N}(v)} \mathbf{e}_{uv}
        \;\Vert\; \mathrm{onehot}(\mathrm{species}_v) \ \text{(optional)}

    Args:
        data (Data): ogbn-proteins as loaded: ``edge_attr`` :math:`(E, 8)` and
            ``node_species`` :math:`(N, 1)`.
        node_features (str): ``"sum"`` (DeeperGCN, RevGNN) or ``"mean"``.
        species (bool): Append a one-hot of the species.
        cache_dir (str, optional): Folder to cache the derived tensors in.

    Returns a shallow copy of ``data`` with float ``x`` and ``edge_attr`` kept.
    """
    if node_features not in ("sum", "mean"):
        raise ValueError(f"node_features={node_features!r} must be 'sum' or 'mean'")
    n = int(data.num_nodes)

    def build_x() -> Tensor:
        # Edges are stored in both directions, so incoming edges are all incident edges.
        return scatter(
            data.edge_attr.float(), data.edge_index[1], dim=0, dim_size=n, reduce=node_features
        )

    x = _cached(cache_dir, f"revgnn_node_features_{node_features}.pt", build_x)
    if species:

        def build_species() -> Tensor:
            _, inverse = torch.unique(data.node_species.view(-1), return_inverse=True)
            return torch.nn.functional.one_hot(inverse).float()

        x = torch.cat([x, _cached(cache_dir, "revgnn_species_onehot.pt", build_species)], -1)
    out = copy.copy(data)  # not clone(): 79M edges' attributes and indices are 3.8 GB
    out.x = x
    out.edge_attr = data.edge_attr.float()
    return out


def _cached(cache_dir: str | None, file: str, build) -> Tensor:
    if cache_dir is None:
        return build()
    path = osp.join(cache_dir, file)
    if osp.exists(path):
        return torch.load(path, weights_only=True)
    t = build()
    os.makedirs(cache_dir, exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(t, tmp)
    os.replace(tmp, path)
    return t


def ogb_to_node_dataset(
    name: str,
    data: Data,
    split: dict[str, Tensor],
    *,
    proteins_node_features: str = "sum",
    species: bool = False,
    undirected: bool = True,
    cache_dir: str | None = None,
) -> NodeDataset:
    """Turn an OGB graph (as ``PygNodePropPredDataset`` gives it) into a :class:`NodeDataset`.

    ogbn-proteins: :func:`prepare_proteins`, targets as float 0/1. ogbn-arxiv (directed in
    OGB): symmetrised when ``undirected`` (DeeperGCN, RevGAT;
    :func:`~revgnn.utils.sparse.undirected_edges`). Labels of arxiv and products
    become a vector of class indices.
    """
    _check_name(name)
    split = {k: v.long() for k, v in split.items()}
    if name == "ogbn-proteins":
        data = prepare_proteins(data, proteins_node_features, species, cache_dir)
        y = data.y.float()
        notes = f"x = {proteins_node_features} of incident edge features" + (
            " + species one-hot" if species else ""
        )
        graph = Data(x=data.x, edge_index=data.edge_index, edge_attr=data.edge_attr, y=y)
        return NodeDataset(
            name, graph, split, int(y.size(1)), "multilabel", "rocauc", name, "OGB split", notes
        )
    edge_index = data.edge_index
    notes = ""
    if name == "ogbn-arxiv" and undirected:
        edge_index = undirected_edges(edge_index, int(data.num_nodes))
        notes = "edges symmetrised"
    y = data.y.view(-1).long()
    num_classes = int(_meta(name)["num classes"])
    graph = Data(x=data.x.float(), edge_index=edge_index, y=y)
    return NodeDataset(
        name, graph, split, num_classes, "multiclass", "acc", name, "OGB split", notes
    )


def load_ogb(
    name: str,
    root: str,
    *,
    download: bool = False,
    proteins_node_features: str = "sum",
    species: bool = False,
    undirected: bool = True,
) -> NodeDataset:
    """Load an OGB node dataset from ``root`` (the folder that holds ``ogbn_<name>/``).

    Args:
        name (str): ``"ogbn-proteins"``, ``"ogbn-arxiv"`` or ``"ogbn-products"``.
        root (str): Folder holding OGB's dataset folder.
        download (bool): Download OGB's zip when the folder is missing. (default: ``False``)
        proteins_node_features (str): ``"sum"`` or ``"mean"``, see :func:`prepare_proteins`.
        species (bool): ogbn-proteins: append the species one-hot.
        undirected (bool): ogbn-arxiv: symmetrise the edges.
    """
    _check_name(name)
    if download and not osp.isdir(_folder(name, root)):
        download_ogb(name, root)
    folder = check_ogb_folder(name, root)
    from ogb.nodeproppred import PygNodePropPredDataset

    with ogb_guard():
        ds = PygNodePropPredDataset(name, root=root)
        split = ds.get_idx_split()
    return ogb_to_node_dataset(
        name,
        ds[0],
        split,
        proteins_node_features=proteins_node_features,
        species=species,
        undirected=undirected,
        cache_dir=osp.join(folder, "processed"),
    )


@register_dataset(
    *OGB_DATASETS, reads=("proteins_node_features", "species"), where="ogbn_<name>/ (OGB's folder)"
)
def load_registered(name: str, root: str | None, cfg: DataConfig) -> NodeDataset:
    return load_ogb(
        name,
        root,
        download=cfg.download,
        proteins_node_features=cfg.proteins_node_features,
        species=cfg.species,
    )
