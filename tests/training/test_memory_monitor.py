from types import SimpleNamespace

from revgnn.datasets import synthetic_dataset
from revgnn.memory import live_tensor_bytes
from revgnn.training import NodeTask, TrainConfig, seed_everything, train
from revgnn.training.memory_monitor import MemoryMonitor
from tests.helpers import rev_gnn


def test_the_second_epoch_and_every_kth_are_profiled():
    monitor = MemoryMonitor(memory_every=4)
    loop = SimpleNamespace(start=1, cfg=SimpleNamespace(epochs=9))
    assert [e for e in range(1, 10) if monitor.profiled(loop, e)] == [2, 4, 8]
    resumed = SimpleNamespace(start=6, cfg=SimpleNamespace(epochs=9))
    assert [e for e in range(6, 10) if monitor.profiled(resumed, e)] == [7, 8]
    one = SimpleNamespace(start=1, cfg=SimpleNamespace(epochs=1))
    assert MemoryMonitor().profiled(one, 1)


def test_an_early_stopped_run_still_reports_its_peak(tiny_graph):
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    result = train(model, tiny_graph, TrainConfig(epochs=50, patience=1, progress=False))
    assert result.epochs_run < 50 and result.peak_bytes > 0 and result.peak_rss_bytes > 0


def test_the_process_rss_counts_a_training_step_even_in_a_one_epoch_run(tiny_graph, monkeypatch):
    from revgnn.memory import peak
    from revgnn.training import memory_monitor

    reads = iter(range(1, 1000))  # each read of the peak RSS a later, higher one
    monkeypatch.setattr(memory_monitor, "peak_rss_bytes", lambda: next(reads))
    monkeypatch.setattr(peak, "peak_rss_bytes", lambda: next(reads))
    for epochs, read_at in ((1, "after the profiled step"), (3, "before epoch 2")):
        seed_everything(0)
        model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
        start = next(reads)
        result = train(model, tiny_graph, TrainConfig(epochs=epochs, progress=False))
        records = [r["peak_rss_bytes"] for r in result.history]
        if epochs == 1:  # the step's read, not the one before it nor the end's
            assert start + 1 < result.peak_rss_bytes < records[0], read_at
        else:  # before the profiled second epoch: the first epoch's steps are in it
            assert records[0] < result.peak_rss_bytes < records[1], read_at


def test_a_partitioned_epoch_holds_one_batch_of_features_at_a_time():
    # The measured step's peak counts every live tensor: the epoch's other batches too, if
    # they are built before its first step (a second copy of the whole graph's features).
    ds = synthetic_dataset("arxiv", 6000, 4.0, seed=0)
    task = NodeTask(ds, partition="random", num_parts=16)
    seed_everything(0)
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2)
    features = ds.data.x.numel() * ds.data.x.element_size()
    before = live_tensor_bytes()
    result = train(model, task, TrainConfig(epochs=1, progress=False))
    extra = result.peak_bytes - before
    # A batch's step holds about 3 copies of its 1/16 of the features (its rows, the input
    # dropout's output, saved for the encoder's gradient): 0.2x the whole graph's. Building
    # every batch first added a whole copy (1.2x).
    assert 0 < extra < features / 2, f"the step's peak is {extra} bytes above the data's"
