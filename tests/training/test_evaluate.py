import torch

from revgnn.datasets import synthetic_dataset
from revgnn.training import NodeTask, evaluate
from tests.helpers import rev_gnn


def test_scores_equal_the_tasks_own_and_views_change_them():
    ds = synthetic_dataset("proteins", 120, 6.0, seed=0)
    torch.manual_seed(0)
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2, edge_dim=8)
    full = evaluate(model, ds)
    task = NodeTask(ds)
    task.setup(torch.device("cpu"), 0)
    assert full == task.evaluate(model, torch.device("cpu"), None).scores
    views = evaluate(model, NodeTask(ds, eval_parts=3, eval_views=2))
    assert views != full and evaluate(model, NodeTask(ds, eval_parts=3, eval_views=2)) == views
    assert not model.training
