"""PPI, protein-protein interaction graphs (Zitnik and Leskovec, 2017; GraphSAGE's split):
24 graphs (20 / 2 / 2), 50 features, 121 labels per node, through PyG's ``PPI``.

``<root>/ppi/raw/{train,valid,test}_{feats.npy, graph_id.npy, graph.json, labels.npy}``
(``graph.json`` in networkx's node-link format with ``"links"``); needs networkx.
"""

from __future__ import annotations

import os.path as osp

from torch_geometric.data import Data

from revgnn.config.data import DataConfig
from revgnn.datasets.pyg_local import pyg_local
from revgnn.datasets.registry import register_dataset

__all__ = ["load_ppi"]

LAYOUT = "raw/{train,valid,test}_{feats.npy, graph_id.npy, graph.json, labels.npy}"


def load_ppi(root: str, download: bool = False) -> dict[str, list[Data]]:
    """The PPI graphs of each split (``train`` / ``valid`` / ``test``), from ``<root>/ppi``."""
    from torch_geometric.datasets import PPI

    try:
        import networkx  # noqa: F401 (PyG's PPI parses graph.json with it)
    except ImportError:
        raise ImportError("PPI needs networkx: pip install 'revgnn[points]'") from None
    folder = osp.join(root, "ppi")
    out = {}
    for part, split in (("train", "train"), ("valid", "val"), ("test", "test")):
        graphs = list(pyg_local(PPI, folder, download, LAYOUT, split=split))
        if not graphs:
            raise ValueError(f"{folder}: the {part} split holds no graph")
        out[part] = graphs
    return out


@register_dataset("ppi", kind="inductive", where="ppi/" + LAYOUT)
def load_registered(name: str, root: str | None, cfg: DataConfig) -> dict[str, list[Data]]:
    """:func:`load_ppi` as a registered loader."""
    return load_ppi(root, cfg.download)
