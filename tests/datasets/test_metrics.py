import pytest
import torch
from torch_geometric.data import Data

from revgnn.datasets import NodeDataset, Scorer


def dataset(task, metric, y):
    data = Data(x=torch.ones(4, 1), edge_index=torch.zeros(2, 0, dtype=torch.long), y=y)
    idx = torch.arange(4)
    return NodeDataset("d", data, {"train": idx, "valid": idx, "test": idx}, 2, task, metric)


def test_accuracy_and_mean_rocauc_over_the_tasks_that_have_both_labels():
    scorer = Scorer(dataset("multiclass", "acc", torch.tensor([0, 1, 1, 0])))
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [1.0, 0.0]])
    assert scorer(torch.tensor([0, 1, 1, 0]), logits) == 0.75
    y = torch.tensor([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [0.0, 1.0]])  # task 2: one label only
    scorer = Scorer(dataset("multilabel", "rocauc", y))
    assert scorer(y, torch.tensor([[2.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])) == 1.0
    with pytest.raises(ValueError, match="no task has both positive and negative labels"):
        scorer(torch.ones(4, 2), torch.zeros(4, 2))
    assert "via=sklearn" in repr(scorer)


def test_accuracy_is_sklearns_value_to_the_bit_and_refuses_an_empty_split():
    from sklearn.metrics import accuracy_score

    gen = torch.Generator().manual_seed(0)
    for n in (1, 3, 500, 1000, 2485):
        y = torch.randint(0, 7, (n,), generator=gen)
        logits = torch.randn(n, 7, generator=gen)
        logits[: n // 2, 0] += 10.0  # some right, some wrong
        scorer = Scorer(dataset("multiclass", "acc", torch.zeros(4, dtype=torch.long)))
        expected = accuracy_score(y.numpy(), logits.argmax(-1).numpy())
        got = scorer(y, logits)
        assert type(got) is float and got == expected
    assert "via=count" in repr(scorer)
    with pytest.raises(ValueError, match="d: no nodes to score"):
        scorer(torch.zeros(0, dtype=torch.long), torch.zeros(0, 7))
