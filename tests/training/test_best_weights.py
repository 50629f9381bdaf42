import torch

from revgnn.training import TrainConfig, seed_everything, train
from revgnn.training.best_weights import BestWeights
from revgnn.training.task import Evaluation
from tests.helpers import rev_gnn


def test_the_run_ends_with_the_best_validation_weights(tiny_graph):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    result = train(model, tiny_graph, TrainConfig(epochs=5, progress=False))
    best = max(result.history, key=lambda r: r["valid_acc"])
    assert result.best_epoch == best["epoch"]


class Loop:
    def __init__(self, model):
        self.model, self.best, self.main, self.distributed = model, {"valid": -1.0}, True, False
        self.task = type("T", (), {"select_best": True})()


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
