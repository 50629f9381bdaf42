import gzip
import os.path as osp

import numpy as np
import pytest
from ogb.io.read_graph_raw import read_csv_graph_raw as ogb_read

from revgnn.datasets import ogb_raw
from revgnn.datasets.ogb_raw import read_csv_array, read_csv_graph_raw
from revgnn.datasets.synthetic import write_ogb_layout

ADDITIONAL = {
    "proteins": (["node_species"], []),
    "arxiv": (["node_year"], []),
    "products": ([], []),
}


def assert_same_graphs(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.keys() == b.keys()
        for key in a:
            if isinstance(b[key], np.ndarray):
                assert a[key].dtype == b[key].dtype, key
                assert np.array_equal(a[key], b[key]), key
            else:
                assert a[key] == b[key], key


@pytest.mark.parametrize("kind", ["proteins", "arxiv", "products"])
@pytest.mark.parametrize("inverse", [False, True])
def test_equals_ogbs_reader_on_every_ogbn_layout(kind, inverse, tmp_path, monkeypatch):
    # Small chunks, so that every file spans several of them.
    monkeypatch.setattr(ogb_raw, "CHUNK_ROWS", 37)
    raw = osp.join(write_ogb_layout(kind, str(tmp_path), num_nodes=150), "raw")
    nodes, edges = ADDITIONAL[kind]
    ours = read_csv_graph_raw(raw, inverse, nodes, edges)
    assert_same_graphs(ours, ogb_read(raw, inverse, nodes, edges))
    assert ours[0]["edge_index"].shape[0] == 2


def write_csv_gz(path, rows):
    with gzip.open(path, "wt") as f:
        f.write("".join(",".join(r) + "\n" for r in rows))


def test_several_graphs_int_features_and_a_float_in_a_late_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(ogb_raw, "CHUNK_ROWS", 2)
    raw = str(tmp_path)
    # Two graphs (3 + 2 nodes, 2 + 1 edges), as ogbg folders hold them.
    write_csv_gz(f"{raw}/num-node-list.csv.gz", [["3"], ["2"]])
    write_csv_gz(f"{raw}/num-edge-list.csv.gz", [["2"], ["1"]])
    write_csv_gz(f"{raw}/edge.csv.gz", [["0", "1"], ["1", "2"], ["0", "1"]])
    # Integer node features (atoms), as ogbg-molhiv's are: int64, as ogb gives them.
    write_csv_gz(
        f"{raw}/node-feat.csv.gz", [["5", "1"], ["6", "0"], ["7", "2"], ["8", "1"], ["1", "1"]]
    )
    # Edge features whose only float sits in the last chunk: the whole file is float32.
    write_csv_gz(f"{raw}/edge-feat.csv.gz", [["1"], ["2"], ["0.5"]])
    ours = read_csv_graph_raw(raw, True)
    assert_same_graphs(ours, ogb_read(raw, True))
    assert ours[0]["node_feat"].dtype == np.int64 and ours[1]["edge_feat"].dtype == np.float32
    assert ours[1]["edge_feat"].tolist() == [[0.5], [0.5]]


def test_a_file_of_the_wrong_length_is_an_error_naming_it(tmp_path):
    path = str(tmp_path / "node-feat.csv.gz")
    write_csv_gz(path, [["1.5"], ["2.5"], ["3.5"]])
    with pytest.raises(ValueError, match=r"node-feat.csv.gz has 3 rows, expected num_rows=4"):
        read_csv_array(path, 4)
    with pytest.raises(ValueError, match=r"node-feat.csv.gz has more than num_rows=2 rows"):
        read_csv_array(path, 2)
    assert read_csv_array(path, 3).tolist() == [[1.5], [2.5], [3.5]]


def test_a_missing_edge_file_is_ogbs_error(tmp_path):
    with pytest.raises(RuntimeError, match="No necessary file"):
        read_csv_graph_raw(str(tmp_path))
