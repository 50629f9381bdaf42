from revgnn.datasets import load_dataset


def test_genres_become_sorted_label_columns_and_degree_features(root):
    ds = load_dataset("deezer-ro", root)
    assert ds.num_classes == 3 and ds.task == "multilabel" and ds.metric == "rocauc"
    assert ds.data.y[10].tolist() == [1.0, 1.0, 0.0]  # Jazz, Pop, Rock
    assert ds.data.x.shape == (ds.num_nodes, 1) and "log(1 + degree)" in ds.notes
