import pytest
import torch

from revgnn.training import NodeTask, TrainConfig, seed_everything, train
from revgnn.training.best_weights import BestWeights
from revgnn.training.task import Evaluation
from tests.helpers import rev_gnn


def test_the_run_ends_with_the_best_validation_weights(tiny_graph):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    result = train(model, tiny_graph, TrainConfig(epochs=5, progress=False))
    best = max(result.history, key=lambda r: r["valid_acc"])
    assert result.best_epoch == best["epoch"]


def test_on_the_loss_the_run_ends_with_the_lowest_validation_loss_weights(tiny_graph):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    cfg = TrainConfig(epochs=8, lr=0.05, select_on="loss", progress=False)
    result = train(model, tiny_graph, cfg)
    lowest = min(result.history, key=lambda r: r["valid_loss"])
    highest = max(result.history, key=lambda r: r["valid_acc"])
    assert result.best_epoch == lowest["epoch"] and result.valid_metric == lowest["valid_acc"]
    assert lowest["epoch"] != highest["epoch"]  # the two rules chose differently here
    again = NodeTask(tiny_graph).evaluate(model, torch.device("cpu"), None)
    assert again.extra["valid_loss"] == pytest.approx(lowest["valid_loss"])


class Loop:
    def __init__(self, model, reports_valid_loss=False, maximize=True):
        self.model, self.main, self.distributed = model, True, False
        self.best = {"valid": -1.0 if maximize else float("inf")}
        task = {"select_best": True, "reports_valid_loss": reports_valid_loss, "maximize": maximize}
        self.task = type("T", (), task)()


def test_selection_on_the_loss_needs_a_task_that_reports_it():
    with pytest.raises(ValueError, match="select_on='maybe' must be one of metric, loss"):
        BestWeights("maybe")
    loop, cb = Loop(torch.nn.Linear(2, 2)), BestWeights("loss")
    needs = r"select_on='loss' needs the validation loss, which the T does not report"
    with pytest.raises(ValueError, match=needs + r" .*--select-on metric"):
        cb.on_fit_start(loop)
    loop.task.reports_valid_loss = True
    cb.on_fit_start(loop)
    cb.on_evaluate(
        loop, 1, Evaluation({"valid": 0.9, "train": 0, "test": 0}, None, {"valid_loss": 0.5})
    )
    cb.on_evaluate(
        loop, 2, Evaluation({"valid": 0.1, "train": 0, "test": 0}, None, {"valid_loss": 0.4})
    )
    cb.on_evaluate(
        loop, 3, Evaluation({"valid": 0.95, "train": 0, "test": 0}, None, {"valid_loss": 0.4})
    )
    assert loop.best == {"epoch": 2, "valid": 0.1, "train": 0, "test": 0, "valid_loss": 0.4}
    assert repr(cb) == "BestWeights(select_on='loss')"


def test_ties_keep_the_earlier_and_a_search_keeps_its_last_weights():
    model = torch.nn.Linear(2, 2)
    loop, cb = Loop(model), BestWeights()
    cb.on_evaluate(loop, 1, Evaluation({"valid": 0.5, "train": 0, "test": 0}))
    first = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    cb.on_evaluate(loop, 2, Evaluation({"valid": 0.5, "train": 0, "test": 0}))
    assert loop.best["epoch"] == 1
    loop.task.select_best = False
    cb.on_fit_end(loop)
    assert not torch.equal(model.weight, first)  # a search keeps its final weights
    loop.task.select_best = True
    cb.on_fit_end(loop)
    assert torch.equal(model.weight, first)
    assert cb.restore(loop) and BestWeights().restore(loop) is False


def test_an_error_metric_keeps_the_lowest_validation_score():
    model = torch.nn.Linear(2, 2)
    loop, cb = Loop(model, maximize=False), BestWeights()
    for epoch, rmse in enumerate((1.5, 0.9, 1.2, 0.9), start=1):
        cb.on_evaluate(loop, epoch, Evaluation({"valid": rmse, "train": 0, "test": epoch}))
    assert loop.best == {"epoch": 2, "valid": 0.9, "train": 0, "test": 2}
