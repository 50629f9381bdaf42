import pytest
import torch

from revgnn.training import NodeTask, TrainConfig, seed_everything, train
from revgnn.training.early_stopping import EarlyStopping
from tests.helpers import rev_gnn


def test_a_run_stops_after_patience_evaluations_without_improvement(tiny_graph, capsys):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    cfg = TrainConfig(epochs=200, lr=0.05, patience=3, progress=False)
    result = train(model, tiny_graph, cfg)
    assert result.epochs_run < 200 and result.epochs_run == result.best_epoch + 3
    assert result.stopped.startswith("early stop: no better validation acc in 3 evaluations")
    assert f"stopped at epoch {result.epochs_run}: early stop" in capsys.readouterr().out
    # The model handed back is the best-validation epoch's, not the last epoch's.
    again = NodeTask(tiny_graph).evaluate(model, torch.device("cpu"), None)
    assert again.scores["valid"] == result.valid_metric
    assert again.scores["test"] == result.test_metric


def test_on_the_loss_it_stops_patience_evaluations_after_the_lowest_loss(tiny_graph):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    cfg = TrainConfig(epochs=200, lr=0.05, patience=3, select_on="loss", progress=False)
    result = train(model, tiny_graph, cfg)
    lowest = min(result.history, key=lambda r: r["valid_loss"])
    assert result.best_epoch == lowest["epoch"] and result.epochs_run == lowest["epoch"] + 3
    assert result.stopped == (
        f"early stop: no lower validation loss in 3 evaluations (best "
        f"{lowest['valid_loss']:.4f} at epoch {lowest['epoch']})"
    )
    assert repr(EarlyStopping(3, "loss")) == "EarlyStopping(patience=3, select_on='loss')"
    with pytest.raises(ValueError, match="select_on='lss' must be one of metric, loss"):
        EarlyStopping(3, "lss")


def test_its_count_is_state():
    stop = EarlyStopping(4)
    stop.waited = 2
    again = EarlyStopping(4)
    again.load_state_dict(stop.state_dict())
    assert again.waited == 2
    with pytest.raises(ValueError, match="patience=0 must be at least 1"):
        EarlyStopping(0)
