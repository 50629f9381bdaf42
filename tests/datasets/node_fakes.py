"""Tiny copies of the real node datasets, written in each dataset's own format (no download)."""

import json
import os
import shutil

import numpy as np
import scipy.io
import scipy.sparse as sp

from revgnn.datasets import amazon_coauthor, blogcatalog, deezer
from revgnn.datasets.planetoid import BUNDLED_CORA
from revgnn.datasets.tolokers import FILE as TOLOKERS

REAL = ["cora", *amazon_coauthor.FILES, "tolokers", *deezer.PREFIXES, "blogcatalog"]

N = 30


def ring(n=N):
    src = np.arange(n)
    return np.stack([src, (src + 1) % n])  # one direction only: loaders symmetrise


def write_npz(path, rng):
    adj = sp.csr_matrix((np.ones(N), ring()), shape=(N, N))
    attr = sp.csr_matrix(rng.integers(0, 2, (N, 6)).astype(np.float32))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(
        path,
        adj_data=adj.data, adj_indices=adj.indices, adj_indptr=adj.indptr, adj_shape=adj.shape,
        attr_data=attr.data, attr_indices=attr.indices, attr_indptr=attr.indptr,
        attr_shape=attr.shape, labels=np.arange(N) % 3,
    )  # fmt: skip


def write_node_datasets(root):
    """Every loader's files under ``root`` (a ``pathlib.Path``); returns ``str(root)``."""
    rng = np.random.default_rng(0)
    shutil.copytree(BUNDLED_CORA, root / "planetoid" / "Cora" / "raw")
    for path in amazon_coauthor.FILES.values():
        write_npz(str(root / path), rng)
    tol = root / TOLOKERS
    os.makedirs(tol.parent)
    masks = np.zeros((3, 10, N), dtype=bool)
    for s in range(10):
        perm = rng.permutation(N)
        masks[0, s, perm[:15]], masks[1, s, perm[15:22]], masks[2, s, perm[22:]] = 1, 1, 1
    np.savez(
        tol,
        node_features=rng.random((N, 10)).astype(np.float32),
        node_labels=np.arange(N) % 2,
        edges=ring().T,
        train_masks=masks[0], val_masks=masks[1], test_masks=masks[2],
    )  # fmt: skip
    for country in ("HU", "RO"):
        folder = root / "musae" / "deezer" / country
        os.makedirs(folder)
        edges = ring().T
        lines = ["node_1,node_2"] + [f"{a},{b}" for a, b in edges]
        (folder / f"{country}_edges.csv").write_text("\n".join(lines) + "\n")
        genres = {
            str(i): ["Pop", "Rock"][: 1 + i % 2] + (["Jazz"] if i % 5 == 0 else [])
            for i in range(N)
        }
        (folder / f"{country}_genres.json").write_text(json.dumps(genres))
    adj = sp.csc_matrix((np.ones(N), ring()), shape=(N, N))
    adj = adj + adj.T
    group = sp.csc_matrix((np.arange(N)[:, None] % 4 == np.arange(4)).astype(np.float64))
    os.makedirs(root / "blogcatalog")
    scipy.io.savemat(str(root / blogcatalog.FILE), {"network": adj, "group": group})
    return str(root)
