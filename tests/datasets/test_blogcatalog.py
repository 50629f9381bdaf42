from revgnn.datasets import load_dataset


def test_groups_are_the_labels(root):
    ds = load_dataset("blogcatalog", root)
    assert ds.num_classes == 4 and ds.data.y.sum(1).eq(1).all()
    assert ds.split_info.startswith("no official split: random 60/20/20")
