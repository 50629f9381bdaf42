import pytest
import torch
from torch import nn

from revgnn.training import TrainConfig, seed_everything, train
from revgnn.training.best_weights import BestWeights
from revgnn.training.callback import Callback
from revgnn.training.collapse import CollapseMonitor


def test_counts_single_class_evaluations_in_a_row_after_the_warm_up():
    monitor = CollapseMonitor(3, after=2)
    assert not monitor.update(1, 1) and not monitor.update(2, 1)  # the warm-up
    assert not monitor.update(3, 1) and not monitor.update(4, 1)
    assert not monitor.update(5, 4)  # a varied evaluation restarts the count
    assert not monitor.update(6, 1) and not monitor.update(7, 1) and monitor.update(8, 1)
    assert not CollapseMonitor(0).update(20, 1) and not CollapseMonitor(2).update(20, None)
    with pytest.raises(ValueError, match="lr_factor=0 must lie in"):
        CollapseMonitor(3, lr_factor=0)
    with pytest.raises(ValueError, match=r"min_progress=1\.0 must lie in"):
        CollapseMonitor(3, min_progress=1.0)


def test_a_model_still_learning_out_of_the_majority_class_is_not_a_collapse():
    # Coauthor CS: one class predicted for 15 epochs while the loss falls 2-3% an epoch.
    learning = CollapseMonitor(3, after=0)
    losses = [2.6, 2.5, 2.4, 2.3, 2.2, 2.1]
    assert not any(learning.update(e, 1, loss) for e, loss in enumerate(losses, 1))
    stuck = CollapseMonitor(3, after=0)
    assert [stuck.update(e, 1, 1.9) for e in (1, 2, 3)] == [False, False, True]
    slow = CollapseMonitor(3, after=0)  # 1% an epoch: below min_progress over the run
    assert [slow.update(e, 1, 2.0 * 0.99**e) for e in (1, 2, 3)] == [False, False, True]
    nan = CollapseMonitor(2, after=0)  # no loss known: the count alone decides
    assert [nan.update(e, 1) for e in (1, 2)] == [False, True]


def test_a_loss_below_the_prior_loss_is_not_a_collapse():
    # Coauthor CS at 64 layers: one class predicted until epoch 40 while the loss falls about
    # 1% an epoch, below the entropy of the class frequencies (2.4035) from epoch 14.
    losses = [2.4177, 2.3994, 2.3851, 2.3732, 2.3630, 2.3554]
    below = CollapseMonitor(3, after=0)
    assert not any(below.update(e, 1, loss, 2.4035) for e, loss in enumerate(losses, 1))
    # The same slow fall above the prior is a model learning only the class frequencies.
    above = CollapseMonitor(3, after=0)
    assert [above.update(e, 1, loss, 2.30) for e, loss in enumerate(losses[:3], 1)] == [
        False,
        False,
        True,
    ]
    # At the prior (the best input-independent prediction, up to rounding): a collapse.
    at = CollapseMonitor(2, after=0)
    assert [at.update(e, 1, 2.4035 * (1 - 1e-9), 2.4035) for e in (1, 2)] == [False, True]


class Biased(nn.Module):
    """Predicts from a per-class bias only: after a few steps, one class for every node."""

    def __init__(self, num_classes):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_classes))
        self.num_layers = 1

    def forward(self, x, edge_index, edge_attr=None):
        return self.bias.expand(x.size(0), -1) + 0 * x[:, :1]


class Watch(Callback):
    """Records the weights and the rate after every epoch."""

    order = 60

    def __init__(self):
        self.after = {}

    def on_epoch_end(self, loop, epoch, record):
        best = next(cb for cb in loop.callbacks if isinstance(cb, BestWeights))
        self.after[epoch] = (
            loop.model.bias.detach().clone(),
            best.state["bias"].clone(),
            loop.optimizers.main.param_groups[0]["lr"],
        )


def test_a_collapsed_run_is_restored_slowed_and_finally_stopped(tiny_graph):
    seed_everything(0)
    watch = Watch()
    cfg = TrainConfig(epochs=100, lr=0.1, weight_decay=0.0, collapse_patience=3,
                      progress=False)  # fmt: skip
    with pytest.warns(UserWarning, match="predicted one class") as warned:
        result = train(Biased(tiny_graph.num_classes), tiny_graph, cfg, callbacks=[watch])
    responses = [r for r in result.history if "collapse" in r]
    # epochs 11-13 collapse; three responses, the fourth collapse stops the run
    assert [r["epoch"] for r in responses] == [13, 16, 19, 22]
    assert result.epochs_run == 22 and "collapsed to a single class 4 times" in result.stopped
    for r in responses[:3]:
        weights, best, _ = watch.after[r["epoch"]]
        assert torch.equal(weights, best)  # the best weights were loaded again
    rates = [watch.after[r["epoch"]][2] for r in responses[:3]]
    assert rates == pytest.approx([0.05, 0.025, 0.0125])
    assert all(r["valid_classes"] == 1 for r in result.history if r["epoch"] > 10)
    text = " ".join(str(w.message) for w in warned)
    assert "loaded the best weights" in text and "response 1 of 3" in text
    assert "after 3 responses: stopping" in text


def test_its_count_is_state():
    monitor = CollapseMonitor(5)
    monitor.run, monitor.responses, monitor.run_loss = [11, 12], 2, 1.5
    again = CollapseMonitor(5)
    again.load_state_dict(monitor.state_dict())
    assert again.run == [11, 12] and again.responses == 2 and again.run_loss == 1.5
