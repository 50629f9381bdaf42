import torch

from revgnn.datasets import synthetic_dataset
from revgnn.training import NodeTask, train_step
from tests.helpers import rev_gnn


def test_one_step_updates_the_weights_and_skips_a_batch_without_training_nodes():
    ds = synthetic_dataset("arxiv", 80, 6.0, seed=0)
    task = NodeTask(ds)
    task.setup(torch.device("cpu"), 0)
    (batch,) = task.train_batches(1)
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    before = [p.detach().clone() for p in model.parameters()]
    seen = []
    loss, n = train_step(
        model, task, batch, opt, scaler, device=torch.device("cpu"), grad_clip=1.0,
        record_forward=lambda fn: seen.append(1) or fn(),
    )  # fmt: skip
    assert n == ds.split["train"].numel() and loss.requires_grad is False and seen == [1]
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    task.train_mask[:] = False
    opt.zero_grad()
    assert train_step(model, task, batch, opt, scaler, device=torch.device("cpu")) == (None, 0)
    assert all(p.grad is None for p in model.parameters())
