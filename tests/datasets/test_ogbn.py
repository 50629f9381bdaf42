"""OGB node datasets, loaded through ogb's own loaders from folders the tests write, offline."""

import os
import shutil
import socket
import urllib.request

import pytest
import torch

from revgnn.datasets import (
    Scorer,
    load_dataset,
    load_ogb,
    prepare_proteins,
    synthetic_dataset,
    write_ogb_layout,
)
from revgnn.datasets.ogb_guard import ogb_guard
from revgnn.training import NodeTask, TrainConfig, evaluate, seed_everything, train
from tests.helpers import rev_gnn

KINDS = ("proteins", "arxiv", "products")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(autouse=True)
def no_stdin(monkeypatch):
    def refuse(prompt=""):
        raise AssertionError(f"a prompt reached stdin: {prompt!r}")

    monkeypatch.setattr("builtins.input", refuse)


@pytest.mark.parametrize("kind", KINDS)
def test_ogb_layout_loads_trains_and_scores_offline(kind, tmp_path):
    from torch_geometric.data.data import DataEdgeAttr

    folder = write_ogb_layout(kind, str(tmp_path), num_nodes=120, avg_degree=6.0, seed=1)
    ds = load_ogb(f"ogbn-{kind}", str(tmp_path))
    # The PyG classes were allowed for ogb's torch.load only while it ran.
    assert DataEdgeAttr not in torch.serialization.get_safe_globals()

    # What the OGB path gives equals the in-memory synthetic graph.
    ref = synthetic_dataset(kind, 120, 6.0, seed=1)
    for key in ("x", "edge_index", "y"):
        assert torch.equal(ds.data[key], ref.data[key]), key
    for part in ("train", "valid", "test"):
        assert torch.equal(ds.split[part], ref.split[part])
    expect = {
        "proteins": (8, 112, "rocauc"),
        "arxiv": (128, 40, "acc"),
        "products": (100, 47, "acc"),
    }
    assert (ds.num_features, ds.num_classes, ds.metric) == expect[kind]
    assert ds.edge_dim == (8 if kind == "proteins" else None)
    if kind == "arxiv":  # symmetrised
        ei = ds.data.edge_index
        assert torch.equal(
            torch.sort(ei[0] * 1000 + ei[1]).values, torch.sort(ei[1] * 1000 + ei[0]).values
        )

    # The second load reads the processed file instead of processing again.
    processed = os.path.join(folder, "processed", "geometric_data_processed.pt")
    stamp = os.stat(processed).st_mtime_ns
    again = load_ogb(f"ogbn-{kind}", str(tmp_path))
    assert torch.equal(again.data.edge_index, ds.data.edge_index)
    assert os.stat(processed).st_mtime_ns == stamp
    # PyG would download when raw files are gone, even with the processed file there:
    # revgnn stops first and names the file.
    shutil.rmtree(os.path.join(folder, "raw"))
    with pytest.raises(FileNotFoundError, match=r"raw file edge\.csv\.gz is missing"):
        load_ogb(f"ogbn-{kind}", str(tmp_path))

    # One epoch of training, then evaluation through ogb's own Evaluator.
    seed_everything(0)
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2, edge_dim=ds.edge_dim, norm="batch")
    task = NodeTask(ds, partition="random", num_parts=2)
    result = train(model, task, TrainConfig(epochs=1, progress=False))
    assert result.epochs == 1 and result.best_epoch == 1 and 0.0 <= result.test_metric <= 1.0
    scorer = Scorer(ds)
    assert "via=ogb.Evaluator" in repr(scorer)
    from ogb.nodeproppred import Evaluator

    model.eval()
    with torch.no_grad():
        out = model(ds.data.x, ds.data.edge_index, ds.data.get("edge_attr"))
    test = ds.split["test"]
    if kind == "proteins":
        direct = Evaluator("ogbn-proteins").eval({"y_true": ds.data.y[test], "y_pred": out[test]})[
            "rocauc"
        ]
    else:
        direct = Evaluator(f"ogbn-{kind}").eval(
            {"y_true": ds.data.y[test].view(-1, 1), "y_pred": out[test].argmax(-1, keepdim=True)}
        )["acc"]
    assert evaluate(model, ds)["test"] == pytest.approx(direct)
    assert result.test_metric == pytest.approx(direct)  # best-valid weights are loaded


def test_proteins_preparation_sum_mean_species_and_cache(tmp_path):
    write_ogb_layout("proteins", str(tmp_path), num_nodes=60, avg_degree=5.0)
    ds = load_ogb("ogbn-proteins", str(tmp_path), species=True)
    mean = load_ogb("ogbn-proteins", str(tmp_path), proteins_node_features="mean")
    ei, ea = ds.data.edge_index, ds.data.edge_attr
    for v in (0, 17, 59):
        incident = ea[ei[1] == v]
        torch.testing.assert_close(ds.data.x[v, :8], incident.sum(0))
        if len(incident):
            torch.testing.assert_close(mean.data.x[v], incident.mean(0))
    onehot = ds.data.x[:, 8:]
    assert onehot.size(1) == 8 and torch.all(onehot.sum(1) == 1)
    assert ds.edge_dim == 8 and ds.data.y.dtype == torch.float32
    processed = tmp_path / "ogbn_proteins" / "processed"
    cached = {"revgnn_node_features_sum.pt", "revgnn_node_features_mean.pt"}
    assert cached | {"revgnn_species_onehot.pt"} <= set(os.listdir(processed))
    # The cache is what the next load reads.
    torch.save(torch.full((60, 8), 7.0), processed / "revgnn_node_features_sum.pt")
    assert torch.all(load_ogb("ogbn-proteins", str(tmp_path)).data.x == 7.0)
    with pytest.raises(ValueError, match="node_features='max' must be 'sum' or 'mean'"):
        prepare_proteins(ds.data, "max")
    # A shallow copy: the 79M edges' indices and attributes of the real graph are not copied.
    again = prepare_proteins(ds.data, "sum")
    assert again.edge_index is ds.data.edge_index and again.edge_attr is ds.data.edge_attr
    assert again.x is not ds.data.x and ds.data.x.size(1) == 16


def test_missing_release_marker_is_an_error_not_a_prompt(tmp_path):
    folder = write_ogb_layout("arxiv", str(tmp_path), num_nodes=40)
    os.remove(os.path.join(folder, "RELEASE_v1.txt"))
    with pytest.raises(FileNotFoundError, match=r"lacks RELEASE_v1.txt.*touch .*RELEASE_v1.txt"):
        load_ogb("ogbn-arxiv", str(tmp_path))
    assert os.path.isdir(os.path.join(folder, "raw"))  # nothing was deleted
    # Even when ogb itself is reached, its prompt raises instead of reading stdin.
    from ogb.nodeproppred import PygNodePropPredDataset

    with ogb_guard(), pytest.raises(RuntimeError, match="revgnn never answers ogb's prompts"):
        PygNodePropPredDataset("ogbn-arxiv", root=str(tmp_path))


@pytest.mark.parametrize(
    ("kind", "file"),
    [
        ("proteins", "raw/edge-feat.csv.gz"),
        ("proteins", "raw/node_species.csv.gz"),
        ("arxiv", "raw/node-feat.csv.gz"),
        ("products", "raw/node-label.csv.gz"),
        ("products", "split/sales_ranking/valid.csv.gz"),
    ],
)
def test_missing_file_names_file_and_place(kind, file, tmp_path):
    folder = write_ogb_layout(kind, str(tmp_path), num_nodes=40)
    path = os.path.join(folder, file)
    os.remove(path)
    name = os.path.basename(file)
    with pytest.raises(
        FileNotFoundError, match=rf"ogbn-{kind}: .*{name} is missing; it belongs at {path}"
    ):
        load_ogb(f"ogbn-{kind}", str(tmp_path))


def test_missing_folder_suggests_download_and_stays_offline(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no dataset folder .*ogbn_products.*--download"):
        load_ogb("ogbn-products", str(tmp_path))
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match="ogbn-mag"):
        load_ogb("ogbn-mag", str(tmp_path))
    with pytest.raises(ValueError, match=r"dataset 'ogbn-arxiv' needs root= \(--root\)"):
        load_dataset("ogbn-arxiv")
