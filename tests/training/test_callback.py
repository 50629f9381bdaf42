from revgnn.training import Callback, TrainConfig, seed_everything, train
from tests.helpers import rev_gnn


class Recorder(Callback):
    order = 90

    def __init__(self):
        self.calls = []

    def on_fit_start(self, loop):
        self.calls.append(("start", loop.start))

    def on_epoch_start(self, loop, epoch):
        self.calls.append(("epoch", epoch))

    def wrap_steps(self, loop, epoch, steps, batches):
        self.calls.append(("steps", len(batches)))
        return steps(batches)

    def on_evaluate(self, loop, epoch, evaluation):
        self.calls.append(("evaluate", epoch, round(evaluation.scores["valid"], 6)))

    def on_epoch_end(self, loop, epoch, record):
        self.calls.append(("end", epoch, "loss" in record))

    def on_checkpoint(self, loop, epoch):
        self.calls.append(("checkpoint", epoch))

    def on_fit_end(self, loop):
        self.calls.append(("fit_end", loop.epochs_run))


def test_a_users_callback_sees_every_hook_in_order(tiny_graph):
    seed_everything(0)
    rec = Recorder()
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    train(model, tiny_graph, TrainConfig(epochs=2, eval_every=2, progress=False), [rec])
    names = [c[0] for c in rec.calls]
    assert names == [
        "start", "epoch", "steps", "end", "checkpoint",
        "epoch", "steps", "evaluate", "end", "checkpoint", "fit_end",
    ]  # fmt: skip
    assert rec.calls[-1] == ("fit_end", 2) and ("steps", 1) in rec.calls
