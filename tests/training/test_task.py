"""The loop is parameterised by the task: a task written here trains through it unchanged."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from revgnn.training import Evaluation, Task, TrainConfig, train
from revgnn.training.task import class_prior_loss, label_prior_logits


class Regression(Task):
    """Fit y = 3 x on random points, batches of 16; the score is minus the test MSE."""

    name, metric, split_info = "points", "neg_mse", "fixed"

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(64, 1, generator=g)
        self.seed = None

    def setup(self, device, seed):
        self.seed = seed

    def train_batches(self, epoch):
        perm = torch.randperm(64, generator=torch.Generator().manual_seed(epoch))
        return [self.x[perm[i : i + 16]] for i in range(0, 64, 16)]

    def forward(self, model, batch):
        return model(batch)

    def loss(self, out, batch, label_smoothing):
        return (out - 3 * batch).square().mean(), batch.size(0)

    def evaluate(self, model, device, amp):
        with torch.no_grad():
            mse = (model(self.x) - 3 * self.x).square().mean().item()
        return Evaluation({"train": -mse, "valid": -mse, "test": -mse})


def test_a_custom_task_trains_with_checkpoints_and_log(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    cfg = TrainConfig(epochs=60, lr=0.05, checkpoint=str(tmp_path / "c.pt"), progress=False)
    result = train(model, Regression(), cfg)
    assert result.metric == "neg_mse" and result.test_metric > -1e-3
    assert model.weight.item() == pytest.approx(3.0, abs=0.05)
    with pytest.raises(TypeError, match="abstract"):
        Task()


def test_the_class_prior_loss_is_the_entropy_of_the_smoothed_label_frequencies():
    assert class_prior_loss(torch.tensor([0, 1, 2, 3]), 4) == pytest.approx(math.log(4))
    assert class_prior_loss(torch.full((2, 5), 2), 3) == 0.0  # one class: a perfect guess
    assert class_prior_loss(torch.full((7,), 2), 3, 1.0) == pytest.approx(math.log(3))
    p = torch.tensor([0.75, 0.25]) * 0.9 + 0.05  # [0, 0, 0, 1] smoothed by 0.1
    expected = -(p * p.log()).sum().item()
    assert class_prior_loss(torch.tensor([[0, 0], [0, 1]]), 2, 0.1) == pytest.approx(expected)


def test_the_label_prior_logits_are_the_best_constant_prediction():
    y = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    logits = label_prior_logits(y, 3, multilabel=True)
    p = torch.tensor([0.75, 0.25, 0.125])  # a task without positives: 1 / (2n)
    assert torch.allclose(logits, (p / (1 - p)).log())
    # Where a task has positives and negatives, the constant logits minimise the loss.
    bias = logits[:2].clone().requires_grad_()
    F.binary_cross_entropy_with_logits(bias.expand(4, 2), y[:, :2]).backward()
    assert bias.grad.abs().max() < 1e-6
    classes = label_prior_logits(torch.tensor([0, 0, 2]), 4, multilabel=False)
    assert torch.allclose(classes, torch.tensor([3.0, 1.0, 2.0, 1.0]).div(7).log())
    with pytest.raises(ValueError, match="y has 3 tasks, but num_classes=2"):
        label_prior_logits(y, 2, multilabel=True)
    with pytest.raises(ValueError, match="y has class 5, but num_classes=4"):
        label_prior_logits(torch.tensor([5]), 4, multilabel=False)
