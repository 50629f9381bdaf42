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
