"""Loaders of the real datasets, on tiny files the tests write in each dataset's own format."""

import json
import os
import shutil

import numpy as np
import pytest
import scipy.io
import scipy.sparse as sp
import torch

from revgnn.datasets import DATASETS, amazon_coauthor, blogcatalog, deezer, load_cora, load_dataset
from revgnn.datasets.planetoid import BUNDLED_CORA
from revgnn.datasets.registry import LoadOptions
from revgnn.datasets.tolokers import FILE as TOLOKERS, load_tolokers

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


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("data")
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


# CiteSeer goes through the same Planetoid path as Cora (no tiny copy of it is written).
@pytest.mark.parametrize("name", REAL)
def test_every_real_dataset_loads_without_writing(name, root):
    before = sorted(os.walk(root))
    ds = load_dataset(name, root)  # validated too
    assert sorted(os.walk(root)) == before  # nothing written (the data folder may be read-only)
    if name != "cora":
        assert ds.num_nodes == N
        # Stored in both directions, no duplicates.
        assert ds.num_edges == 2 * N
    sizes = [ds.split[k].numel() for k in ("train", "valid", "test")]
    if name == "cora":
        assert sizes == [140, 500, 1000] and ds.split_info == "public Planetoid split"
    elif name == "tolokers":
        assert sizes == [15, 7, 8] and ds.metric == "rocauc" and ds.num_classes == 1
    else:
        assert sizes == [18, 6, 6]
        assert ds.split_info == "no official split: random 60/20/20 split, seed=0"
    assert ds.split_info in ds.describe()
    if name.startswith("deezer"):
        assert ds.num_classes == 3 and ds.task == "multilabel"
        assert ds.data.y[10].tolist() == [1.0, 1.0, 0.0]  # Jazz, Pop, Rock (sorted)
    if name == "blogcatalog":
        assert ds.num_classes == 4 and ds.data.y.sum(1).eq(1).all()


def test_random_split_is_seeded(root):
    a = load_dataset("photo", root, split_seed=0)
    b = load_dataset("photo", root, split_seed=0)
    c = load_dataset("photo", root, split_seed=1)
    assert torch.equal(a.split["train"], b.split["train"])
    assert not torch.equal(a.split["train"], c.split["train"])
    assert "seed=1" in c.split_info
    parts = torch.cat([a.split[k] for k in ("train", "valid", "test")])
    assert torch.equal(parts.sort().values, torch.arange(N))


def test_bundled_cora_matches_planetoid_and_is_row_normalised(root):
    ds = load_cora()
    assert (ds.num_nodes, ds.num_edges, ds.num_features, ds.num_classes) == (2708, 10556, 1433, 7)
    torch.testing.assert_close(ds.data.x.sum(1), torch.ones(2708))
    assert torch.equal(load_dataset("cora", root).data.x, ds.data.x)
    raw = load_cora(normalize_features=False)
    assert set(raw.data.x.unique().tolist()) == {0.0, 1.0}


def test_errors(root, tmp_path):
    with pytest.raises(ValueError, match="dataset 'pubmed' is not one of"):
        load_dataset("pubmed", root)
    with pytest.raises(
        FileNotFoundError, match=r"photo: .*amazon_electronics_photo\.npz does not exist"
    ):
        load_dataset("photo", str(tmp_path))
    with pytest.raises(ValueError, match=r"split_index=10 must lie in \[0, 10\)"):
        load_tolokers("tolokers", root, LoadOptions(), split_index=10)
    with pytest.raises(ValueError, match=r"dataset 'photo' needs root= \(--root\)"):
        load_dataset("photo")
    assert set(REAL) | {"citeseer"} <= set(DATASETS)
