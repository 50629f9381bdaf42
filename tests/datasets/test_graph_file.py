"""A user's own graph from one file (.pt of a Data or a dict, .npz), through load_dataset."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from revgnn.config import Recipe
from revgnn.datasets import from_data, load_dataset
from revgnn.datasets.registry import CorruptDataset, dataset_kind
from revgnn.training import NodeTask
from revgnn.training.experiment import prepare

N = 40


def ring(n=N):
    src = torch.arange(n)
    dst = (src + 1) % n
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])


def masks(train, valid, test):
    return [torch.zeros(N, dtype=torch.bool).index_fill_(0, torch.tensor(i), True)
            for i in (train, valid, test)]  # fmt: skip


def test_a_saved_data_with_masks_keeps_its_split_features_and_edge_features(tmp_path):
    x, ea, y = torch.randn(N, 5), torch.randn(2 * N, 3), torch.arange(N) % 4
    train, val, test = masks([0, 1, 2, 3], [4, 5], [6, 7, 8])
    data = Data(x=x, edge_index=ring(), edge_attr=ea, y=y, train_mask=train, val_mask=val,
                test_mask=test)  # fmt: skip
    torch.save(data, tmp_path / "g.pt")
    ds = load_dataset(str(tmp_path / "g.pt"))
    assert (ds.name, ds.task, ds.metric, ds.num_classes) == ("g.pt", "multiclass", "acc", 4)
    assert torch.equal(ds.data.x, x) and torch.equal(ds.data.edge_attr, ea)
    assert torch.equal(ds.data.edge_index, ring()) and torch.equal(ds.data.y, y)
    assert {k: v.tolist() for k, v in ds.split.items()} == {
        "train": [0, 1, 2, 3], "valid": [4, 5], "test": [6, 7, 8]}  # fmt: skip
    assert ds.split_info == "given split (train_mask / val_mask / test_mask)"
    assert dataset_kind(str(tmp_path / "g.pt")) == "node"


def test_fields_that_are_not_read_are_named_with_the_remedy_for_edge_weights(tmp_path):
    # A weighted graph trained unweighted without a word: edge_weight was dropped silently.
    y = torch.arange(N) % 4
    data = Data(x=torch.randn(N, 5), edge_index=ring(), y=y, edge_weight=torch.rand(2 * N),
                pos=torch.randn(N, 2))  # fmt: skip
    torch.save(data, tmp_path / "w.pt")
    for read in (lambda: load_dataset(str(tmp_path / "w.pt")), lambda: from_data(data)):
        with pytest.warns(UserWarning, match=r"edge_weight, pos not read .* to train on "
                          r"edge_weight, store it as edge_attr of shape \(E, 1\)"):  # fmt: skip
            read()
    data = Data(x=torch.randn(N, 5), edge_index=ring(), edge_attr=torch.randn(2 * N, 1), y=y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every field read: nothing said
        from_data(data)


def test_without_a_split_the_labelled_nodes_get_a_seeded_random_one(tmp_path):
    y = torch.arange(N) % 3
    y[30:] = -1  # unlabelled
    torch.save({"x": torch.randn(N, 2), "edge_index": ring(), "y": y}, tmp_path / "d.pth")
    splits = [load_dataset(str(tmp_path / "d.pth"), split_seed=s).split for s in (0, 0, 1)]
    assert all(torch.equal(splits[0][k], splits[1][k]) for k in splits[0])
    assert not torch.equal(splits[0]["train"], splits[2]["train"])
    parts = torch.cat(list(splits[0].values()))
    assert sorted(parts.tolist()) == list(range(30))
    assert [splits[0][k].numel() for k in ("train", "valid", "test")] == [18, 6, 6]


def test_an_npz_without_features_with_multilabel_targets_and_relative_to_root(tmp_path):
    y = (torch.arange(N * 2).view(N, 2) % 3 == 0).float()
    np.savez(tmp_path / "m.npz", edge_index=ring().numpy(), y=y.numpy())
    ds = load_dataset("m.npz", str(tmp_path))
    assert (ds.task, ds.metric, ds.num_classes) == ("multilabel", "rocauc", 2)
    assert ds.num_features == 1 and "x = log(1 + degree)" in ds.notes
    assert torch.allclose(ds.data.x, torch.full((N, 1), np.log(3.0)))


def test_mask_columns_are_splits_chosen_by_the_split_seed(tmp_path):
    train = torch.zeros(N, 2, dtype=torch.bool)
    train[0, 0] = train[1, 1] = True
    val, test = train.roll(2, 0), train.roll(4, 0)
    torch.save({"edge_index": ring(), "y": torch.zeros(N, dtype=torch.long), "train_mask": train,
                "val_mask": val, "test_mask": test}, tmp_path / "s.pt")  # fmt: skip
    ds = load_dataset(str(tmp_path / "s.pt"), split_seed=1)
    assert [ds.split[k].tolist() for k in ("train", "valid", "test")] == [[1], [3], [5]]
    assert ds.split_info == "given split 1 of 2 (mask columns)"
    with pytest.raises(ValueError, match=r"split_seed=2 must lie in \[0, 2\)"):
        load_dataset(str(tmp_path / "s.pt"), split_seed=2)


def test_index_tensors_are_a_split_too(tmp_path):
    torch.save({"edge_index": ring(), "y": torch.ones(N, 1), "train_idx": torch.arange(5),
                "val_idx": torch.arange(5, 8), "test_idx": torch.arange(8, 12)},
               tmp_path / "i.pt")  # fmt: skip
    ds = load_dataset(str(tmp_path / "i.pt"))
    assert ds.split["valid"].tolist() == [5, 6, 7] and ds.task == "multilabel"


def save(tmp_path, **fields):
    torch.save(fields, tmp_path / "bad.pt")
    return str(tmp_path / "bad.pt")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"y": torch.zeros(N, dtype=torch.long)}, "has no edge_index: store the edges as a"),
        ({"edge_index": ring()}, "has no y: store the node labels as y"),
        ({"edge_index": ring(), "y": torch.rand(N)}, "y holds fractional or non-finite values"),
        ({"edge_index": ring(), "y": -torch.ones(N)}, r"no node has a label \(y >= 0\)"),
        ({"edge_index": ring(), "y": torch.zeros(N, 2, 2)}, r"y must be \(N,\) class labels"),
        ({"edge_index": ring(), "y": torch.zeros(N), "x": torch.zeros(N + 1, 2)},
         "x has 41 rows but y has 40"),
        ({"edge_index": ring(), "y": torch.zeros(N), "train_mask": torch.ones(N).bool()},
         "a split needs val_mask, test_mask as well"),
        ({"edge_index": ring() + 1, "y": torch.zeros(N)}, "edge_index refers to node 40"),
        ({"edge_index": ring().float(), "y": torch.full((N,), math.inf)},
         "y holds fractional or non-finite values"),
        # node indices are refused, not truncated, unless they are whole numbers
        ({"edge_index": ring() + 0.5, "y": torch.zeros(N)},
         "edge_index holds fractional or non-finite values; node indices must be whole"),
        ({"edge_index": ring().float().index_fill_(1, torch.tensor([3]), math.nan),
          "y": torch.zeros(N)}, "edge_index holds fractional or non-finite values"),
        ({"edge_index": ring().float().index_fill_(1, torch.tensor([3]), math.inf),
          "y": torch.zeros(N)}, "edge_index holds fractional or non-finite values"),
        ({"edge_index": ring().bool(), "y": torch.zeros(N)},
         r"edge_index is torch.bool; it must hold node indices \(integers\)"),
        ({"edge_index": ring(), "y": torch.zeros(N), "train_idx": torch.tensor([0.5, 1.0]),
          "valid_idx": torch.tensor([2]), "test_idx": torch.tensor([3])},
         "train_idx holds fractional or non-finite values"),
        # a mask is one 0/1 entry per node: index tensors under a mask's name are refused
        ({"edge_index": ring(), "y": torch.zeros(N), "train_mask": torch.arange(5),
          "val_mask": torch.arange(5, 8), "test_mask": torch.arange(8, 12)},
         r"train_mask has 5 entries for 40 nodes: a mask has one per node \(node indices go "
         "in train_idx"),
        ({"edge_index": ring(), "y": torch.zeros(N), "train_mask": torch.randperm(N),
          "val_mask": torch.ones(N), "test_mask": torch.ones(N)},
         "train_mask holds values other than 0 and 1: a mask is boolean"),
    ],
)  # fmt: skip
def test_malformed_graphs_are_refused_with_their_reason(tmp_path, fields, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(save(tmp_path, **fields))
    with pytest.raises(ValueError, match=message):  # the same graph in memory
        NodeTask(Data(**fields))


def test_from_data_reads_a_graph_in_memory_by_the_graph_files_rules(tmp_path):
    x, y = torch.randn(N, 5), torch.arange(N) % 4
    train, val, test = masks([0, 1, 2, 3], [4, 5], [6, 7, 8])
    data = Data(x=x, edge_index=ring(), y=y, train_mask=train, val_mask=val, test_mask=test)
    torch.save(data, tmp_path / "g.pt")
    saved, mine = load_dataset(str(tmp_path / "g.pt")), from_data(data, name="mine")
    assert mine.name == "mine" and mine.split_info == saved.split_info
    assert {k: v.tolist() for k, v in mine.split.items()} == {
        k: v.tolist() for k, v in saved.split.items()}  # fmt: skip
    assert torch.equal(mine.data.x, saved.data.x) and torch.equal(mine.data.y, saved.data.y)
    del data.train_mask, data.val_mask, data.test_mask
    drawn = from_data(data.to_dict(), split_seed=3)  # a dict; no masks: a seeded random split
    assert drawn.split_info == "random 60/20/20 split of the labelled nodes, seed=3"
    assert drawn.split["train"].numel() == 24 and drawn.name == "graph"
    with pytest.raises(TypeError, match=r"data must be a torch_geometric\.data\.Data or a dict"):
        from_data([ring()])
    arrays = from_data({"edge_index": ring().numpy(), "y": (np.arange(N) % 3)})  # NumPy too
    assert arrays.num_classes == 3 and torch.equal(arrays.data.edge_index, ring())


def test_labels_that_are_not_numbers_are_refused_with_the_remedy(tmp_path):
    path = tmp_path / "names.npz"
    np.savez(path, edge_index=ring().numpy(), y=np.array(["a", "b"] * (N // 2)))
    with pytest.raises(ValueError, match=r"names.npz: y holds <U1 values, not numbers: store "
                       r"class labels as integers 0..C-1 \(np.unique"):  # fmt: skip
        load_dataset(str(path))
    np.savez(path, edge_index=ring().numpy(), y=np.arange(N) % 2, x=np.array([["f"]] * N))
    with pytest.raises(ValueError, match=r"x holds <U1 values, not numbers: store numbers$"):
        load_dataset(str(path))


def test_unreadable_files_and_unknown_names_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"graph file .*nothere\.pt does not exist"):
        load_dataset(str(tmp_path / "nothere.pt"))
    (tmp_path / "junk.pt").write_text("junk")
    with pytest.raises(CorruptDataset, match=r"junk\.pt could not be read .*not written by"):
        load_dataset(str(tmp_path / "junk.pt"))
    torch.save({"edge_index": ring(), "y": object()}, tmp_path / "obj.pt")
    with pytest.raises(ValueError, match="holds objects other than tensors and PyG's Data"):
        load_dataset(str(tmp_path / "obj.pt"))
    with pytest.raises(
        ValueError,
        match=r"dataset='coraa' is not one of .*cora, .*nor a graph "
        r"file \(\.npz, \.pt, \.pth\)",
    ):
        load_dataset("coraa")


def test_a_graph_file_reaches_the_model_through_the_recipe(tmp_path):
    torch.save({"x": torch.randn(N, 6), "edge_index": ring(), "y": torch.arange(N) % 3},
               tmp_path / "g.pt")  # fmt: skip
    exp = prepare(Recipe().with_values({"data.dataset": str(tmp_path / "g.pt")}))
    assert (exp.kind, exp.out_channels) == ("node", 3)
    assert exp.in_channels == exp.dataset.num_features
    with pytest.raises(ValueError, match="--species is not used by --dataset "):
        prepare(Recipe().with_values({"data.dataset": str(tmp_path / "g.pt"),
                                      "data.species": True}), build=False)  # fmt: skip


def test_whole_number_floats_are_node_indices_and_0_1_numbers_are_masks():
    # NumPy and pandas exports store integers as floats: read, not refused, when whole.
    train, valid, test = masks([0, 1], [2, 3], [4, 5])
    data = Data(edge_index=ring().double(), y=torch.zeros(N), train_mask=train.float(),
                val_mask=valid.long(), test_mask=test)  # fmt: skip
    ds = from_data(data)
    assert ds.data.edge_index.dtype == torch.long and torch.equal(ds.data.edge_index, ring())
    assert [ds.split[p].tolist() for p in ("train", "valid", "test")] == [[0, 1], [2, 3], [4, 5]]
    split = {"train_idx": torch.tensor([0.0, 1.0]), "valid_idx": torch.tensor([2.0]),
             "test_idx": torch.tensor([3])}  # fmt: skip
    ds = from_data({"edge_index": ring(), "y": torch.zeros(N), **split})
    assert ds.split["train"].dtype == torch.long and ds.split["train"].tolist() == [0, 1]


def test_a_column_of_class_labels_is_read_as_classes_and_a_column_of_0_1_as_a_binary_task():
    # OGB stores node class labels as (N, 1) (ogbn-arxiv, ogbn-products): a saved dataset[0]
    y = torch.arange(N).remainder(5).view(N, 1)
    y[3] = -1  # unlabelled
    ds = from_data(Data(edge_index=ring(), y=y))
    assert (ds.task, ds.num_classes, ds.metric, ds.data.y.shape) == ("multiclass", 5, "acc", (N,))
    assert 3 not in torch.cat(list(ds.split.values())).tolist()
    ds = from_data(Data(edge_index=ring(), y=y.clamp(0, 1).float()))
    assert (ds.task, ds.num_classes, ds.metric) == ("multilabel", 1, "rocauc")


def test_pygs_adj_t_gives_the_edges_in_their_direction(tmp_path):
    import torch_geometric.transforms as T

    edge_index = torch.tensor([[0, 0, 1, 3], [1, 2, 2, 0]])  # directed: source row first
    data = Data(edge_index=edge_index, y=torch.zeros(4, dtype=torch.long), num_nodes=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta warning for sparse CSR tensors
        sparse = T.ToSparseTensor()(data.clone())
    torch.save(sparse, tmp_path / "data.pt")  # its storage pickles a defaultdict
    with pytest.raises(ValueError, match=r"torch.save\(data.to_dict\(\), path\) for a Data"):
        load_dataset(str(tmp_path / "data.pt"))
    torch.save(sparse.to_dict(), tmp_path / "adj.pt")
    for ds in (from_data(sparse), load_dataset(str(tmp_path / "adj.pt"))):
        got = sorted(map(tuple, ds.data.edge_index.t().tolist()))
        assert got == sorted(map(tuple, edge_index.t().tolist()))
    weighted = sparse.clone()
    weighted.adj_t = torch.sparse_csr_tensor(
        sparse.adj_t.crow_indices(), sparse.adj_t.col_indices(), torch.full((4,), 0.5), (4, 4)
    )
    with pytest.warns(UserWarning, match="adj_t's values are not read; to train on them"):
        from_data(weighted)
    with pytest.raises(ValueError, match="edge_attr comes with adj_t but no edge_index"):
        from_data({"adj_t": sparse.adj_t, "y": torch.zeros(4), "edge_attr": torch.ones(4, 1)})


def test_sparse_features_are_read_as_their_dense_matrix():
    x = torch.eye(N)[:, :6]
    for sparse in (x.to_sparse(), x.to_sparse_csr()):
        ds = from_data(Data(edge_index=ring(), y=torch.zeros(N, dtype=torch.long), x=sparse))
        assert ds.data.x.layout == torch.strided and torch.equal(ds.data.x, x)
