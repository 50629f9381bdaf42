import pytest
import torch

import revgnn.training.compile_monitor as monitor_module
from revgnn import ModelConfig, NodeTask, TrainConfig, build_model, train
from revgnn.datasets import synthetic_dataset
from revgnn.training import CompileMonitor
from revgnn.utils.compile import CompileStats, _has_cpp_compiler


class FakeLoop:
    start = 1

    def __init__(self):
        self.said = []

    def say(self, message):
        self.said.append(message)


def test_counts_each_epoch_and_reports_only_the_first_and_any_later_compilation(monkeypatch):
    stats = CompileStats(compilations=5, seconds=10.0)  # from earlier runs in this process
    monkeypatch.setattr(monitor_module, "compile_stats", lambda: stats)
    loop, monitor = FakeLoop(), CompileMonitor()
    monitor.on_fit_start(loop)
    records = []
    for epoch, (added, spent) in enumerate([(3, 4.0), (0, 0.0), (1, 2.0)], start=1):
        stats.compilations += added
        stats.seconds += spent
        records.append({})
        monitor.on_epoch_end(loop, epoch, records[-1])
    assert [r["compilations"] for r in records] == [3, 0, 1]
    assert [r["compile_seconds"] for r in records] == [4.0, 0.0, 2.0]
    assert (monitor.compilations, monitor.seconds, monitor.recompilations) == (4, 6.0, 1)
    assert loop.said == [
        "compiled 3 kernels in 4.0 s (first epoch)",
        "epoch 3 compiled 1 kernel more (2.0 s): an input shape or dtype the first epoch and "
        "the first evaluation did not have",
    ]


def test_the_first_evaluation_compiles_its_kernels_without_a_report_of_recompilation(monkeypatch):
    # Evaluating every other epoch: epoch 1 compiles the steps' kernels, epoch 2 the
    # evaluation's and a new shape in its steps, epoch 4 another new shape in its steps.
    stats = CompileStats()
    monkeypatch.setattr(monitor_module, "compile_stats", lambda: stats)
    loop, monitor = FakeLoop(), CompileMonitor()
    monitor.on_fit_start(loop)

    def steps(batches):
        stats.compilations += batches[0]
        stats.seconds += batches[0]
        return 0.0, 1

    for epoch, (in_steps, in_eval) in enumerate([(2, 0), (1, 3), (0, 0), (1, 0)], start=1):
        monitor.wrap_steps(loop, epoch, steps, [in_steps])
        if epoch % 2 == 0:
            stats.compilations += in_eval
            stats.seconds += in_eval
            monitor.on_evaluate(loop, epoch, None)
        monitor.on_epoch_end(loop, epoch, {})
    assert (monitor.compilations, monitor.recompilations) == (7, 2)
    assert loop.said == [
        "compiled 2 kernels in 2.0 s (first epoch)",
        "compiled 3 kernels in 3.0 s (first evaluation, epoch 2)",
        "epoch 2 compiled 1 kernel more (1.0 s): an input shape or dtype the first epoch and "
        "the first evaluation did not have",
        "epoch 4 compiled 1 kernel more (1.0 s): an input shape or dtype the first epoch and "
        "the first evaluation did not have",
    ]


@pytest.mark.skipif(not _has_cpp_compiler(), reason="needs a C++ compiler for inductor")
def test_random_parts_compile_in_the_first_epoch_only(compiled):
    # Ten random parts an epoch: every batch has its own node and edge counts.
    ds = synthetic_dataset("arxiv", 403, 6.0, seed=0)
    torch.manual_seed(0)
    cfg = ModelConfig(hidden_channels=8, num_layers=2, conv="gen", norm="batch",
                      conv_options={"aggr": "softmax", "learn_t": True})  # fmt: skip
    model = build_model(cfg, ds.num_features, ds.num_classes)
    task = NodeTask(ds, partition="random", num_parts=10)
    # Evaluating every other epoch: the evaluation's kernels are compiled in epoch 2.
    result = train(model, task, TrainConfig(epochs=4, eval_every=2, progress=False))
    batches = task.train_batches(1)
    assert len({b.num_nodes for b in batches}) > 1  # the parts differ in size
    assert len({b.edge_index.size(1) for b in batches}) > 1
    counts = [r["compilations"] for r in result.history]
    assert counts[0] > 0 and counts[1] > 0 and counts[2:] == [0, 0]
    assert result.compilations == sum(counts) and result.recompilations == 0
