"""Tiny OGB-layout folders the tests write themselves (no download)."""

import os.path as osp
from pathlib import Path

import numpy as np
import pandas as pd


def write_ogbg_layout(
    root: str, num_graphs: int = 24, seed: int = 0, name: str = "ogbg-molhiv"
) -> str:
    """A tiny folder of OGB molecule set ``name`` in OGB's layout (raw CSVs, scaffold split,
    marker): 0/1 labels, or for a regression set (``ogbg-molesol``) the number of atoms plus
    noise."""
    rng = np.random.default_rng(seed)
    folder = osp.join(root, name.replace("-", "_"))
    edges, edge_feat, node_feat, num_nodes, num_edges = [], [], [], [], []
    for _ in range(num_graphs):
        n = int(rng.integers(3, 7))
        src = np.arange(n - 1)  # a chain, stored once (OGB adds the inverse edges)
        edges.append(np.stack([src, src + 1], 1))
        edge_feat.append(rng.integers(0, 2, (n - 1, 3)))
        node_feat.append(rng.integers(0, 2, (n, 9)))
        num_nodes.append(n)
        num_edges.append(n - 1)
    labels = (np.arange(num_graphs) % 2).reshape(-1, 1)  # both classes in every part
    if name in ("ogbg-molesol", "ogbg-molfreesolv", "ogbg-mollipo"):
        noise = rng.normal(0.0, 0.1, (num_graphs, 1))
        labels = np.array(num_nodes, dtype=float).reshape(-1, 1) + noise
    files = {
        "edge": np.concatenate(edges),
        "edge-feat": np.concatenate(edge_feat),
        "node-feat": np.concatenate(node_feat),
        "graph-label": labels,
        "num-node-list": np.array(num_nodes).reshape(-1, 1),
        "num-edge-list": np.array(num_edges).reshape(-1, 1),
    }
    n_train, n_valid = num_graphs * 2 // 3, num_graphs // 6
    parts = {
        "train": range(0, n_train),
        "valid": range(n_train, n_train + n_valid),
        "test": range(n_train + n_valid, num_graphs),
    }
    for sub in ("raw", "split/scaffold"):
        Path(folder, sub).mkdir(parents=True, exist_ok=True)
    for name, arr in files.items():
        pd.DataFrame(arr).to_csv(
            osp.join(folder, "raw", f"{name}.csv.gz"), header=False, index=False, compression="gzip"
        )
    for part, idx in parts.items():
        pd.DataFrame(np.array(list(idx))).to_csv(
            osp.join(folder, "split", "scaffold", f"{part}.csv.gz"),
            header=False,
            index=False,
            compression="gzip",
        )
    with open(osp.join(folder, "RELEASE_v1.txt"), "w") as f:
        f.write(f"tiny {name} layout written by the tests\n")
    return folder
