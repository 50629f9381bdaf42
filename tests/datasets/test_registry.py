"""Every registered dataset by name, on the tiny copies of tests/datasets/node_fakes.py."""

import os

import pytest

from revgnn.config import DataConfig
from revgnn.datasets import DATASETS, load_dataset
from revgnn.datasets.registry import CorruptDataset, canonical_dataset
from revgnn.datasets.tolokers import load_tolokers
from tests.datasets.node_fakes import REAL, N


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


def test_errors(root, tmp_path):
    with pytest.raises(ValueError, match="dataset='pubmed' is not one of"):
        load_dataset("pubmed", root)
    with pytest.raises(ValueError, match=r"nor a graph file \(.*\); did you mean 'citeseer'\?$"):
        load_dataset("citeseeer", root)
    with pytest.raises(
        FileNotFoundError, match=r"photo: .*amazon_electronics_photo\.npz does not exist"
    ):
        load_dataset("photo", str(tmp_path))
    with pytest.raises(ValueError, match=r"split_index=10 must lie in \[0, 10\)"):
        load_tolokers("tolokers", root, DataConfig(), split_index=10)
    with pytest.raises(ValueError, match=r"dataset 'photo' needs root= \(--root\)"):
        load_dataset("photo")
    assert set(REAL) | {"citeseer"} <= set(DATASETS)


@pytest.mark.parametrize("name", REAL)
def test_a_truncated_file_is_one_error_naming_the_fix(name, root, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(root, copy)
    ds_files = [p for p in copy.rglob("*") if p.is_file() and name.split("-")[0] in str(p).lower()]
    assert ds_files, name
    for path in ds_files:  # every file of the dataset cut to a tenth
        path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 10)])
    with pytest.raises(CorruptDataset, match=f"dataset '{name}'.*truncated or corrupt"):
        load_dataset(name, str(copy))


def test_a_dataset_name_in_any_case_or_with_underscores_loads_as_registered(root):
    cfg = canonical_dataset(DataConfig(dataset="Deezer_HU", root=root))
    assert cfg.dataset == "deezer-hu" and canonical_dataset(cfg) is cfg
    assert load_dataset("Deezer_HU", root).name == load_dataset("deezer-hu", root).name
    assert load_dataset("CORA").num_nodes == 2708  # the bundled copy, without a root
    path = DataConfig(dataset="My_Graph.PT")
    assert canonical_dataset(path) is path  # a file's path is kept as given
