import torch

from revgnn.datasets import synthetic_dataset
from revgnn.profiling.step_peak import step_peak
from revgnn.training import NodeTask
from tests.helpers import rev_gnn


def test_the_non_reversible_twin_needs_more_and_the_model_is_untouched():
    ds = synthetic_dataset("arxiv", 300, 8.0, seed=0)
    torch.manual_seed(0)
    model = rev_gnn(ds.num_features, 32, ds.num_classes, 16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    task = NodeTask(ds)
    rev = step_peak(model, task)
    plain = step_peak(model, task, reversible=False)
    assert 0 < rev < plain
    assert model.reversible and all(
        torch.equal(before[k], v) for k, v in model.state_dict().items()
    )
