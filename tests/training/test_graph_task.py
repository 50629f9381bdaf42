"""Graph-level training through the one loop: the molhiv example, killed and resumed."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch_geometric.loader import DataLoader

from revgnn.datasets import load_ogbg
from revgnn.models import GraphPredictor
from revgnn.training import GraphTask, TrainConfig, iter_records, load_checkpoint, train
from revgnn.training.partition import epoch_generator
from tests.helpers import deeper_gcn, lines_in, reaped, signal_when
from tests.ogb_layouts import write_ogbg_layout

EXAMPLE = Path(__file__).resolve().parents[2] / "ogb_examples" / "ogbg_molhiv.py"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ogbg")
    write_ogbg_layout(str(root), num_graphs=120)
    load_ogbg("ogbg-molhiv", str(root))  # writes processed/ once, before the runs
    return root


def test_batches_are_seeded_by_epoch_and_the_loss_skips_missing_labels(root):
    dataset, split = load_ogbg("ogbg-molhiv", str(root))
    task = GraphTask(dataset, split, batch_size=8)
    task.setup(torch.device("cpu"), seed=3)
    a, b = task.train_batches(1), task.train_batches(1)
    assert len(a) == 10 and all(torch.equal(x.y, y.y) for x, y in zip(a, b))
    # Collated when read, as iterating PyG's loader with the epoch's generator collates them.
    loader = DataLoader(dataset[split["train"]], batch_size=8, shuffle=True,
                        generator=epoch_generator(3, 1))  # fmt: skip
    for lazy, eager in zip(a, loader, strict=True):
        assert torch.equal(lazy.x, eager.x) and torch.equal(lazy.edge_index, eager.edge_index)
        assert torch.equal(lazy.batch, eager.batch) and lazy.x is not a[0].x
    assert any(not torch.equal(x.y, y.y) for x, y in zip(a, task.train_batches(2)))
    out = torch.zeros(8, 1, requires_grad=True)
    batch = a[0]
    batch.y = batch.y.float()
    batch.y[0] = float("nan")
    loss, count = task.loss(out, batch, 0.0)
    assert count == 8 and loss.item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    model = GraphPredictor(deeper_gcn(9, 8, 1, 2, edge_dim=3), 8)
    result = train(model, task, TrainConfig(epochs=2, amp="bf16", progress=False))
    assert result.metric == "rocauc" and 0.0 <= result.test_metric <= 1.0
    assert result.peak_bytes > 0  # measured on the first steps of the second epoch
    with pytest.raises(ValueError, match="split\\['valid'\\] is missing or empty"):
        GraphTask(dataset, {**split, "valid": []})


def test_selection_on_the_loss_keeps_the_lowest_validation_bce(root):
    dataset, split = load_ogbg("ogbg-molhiv", str(root))
    task = GraphTask(dataset, split, batch_size=8)
    torch.manual_seed(0)
    model = GraphPredictor(deeper_gcn(9, 8, 1, 2, edge_dim=3), 8)
    cfg = TrainConfig(epochs=4, lr=0.05, select_on="loss", progress=False)
    result = train(model, task, cfg)
    lowest = min(result.history, key=lambda r: r["valid_loss"])
    assert result.best_epoch == lowest["epoch"]
    # The reported loss is the binary cross-entropy of the validation graphs' predictions.
    model.eval()
    with torch.no_grad():
        batches = list(task._loader("valid", 256))
        out = torch.cat([task.forward(model, b).float() for b in batches])
        y = torch.cat([b.y.view(out.shape) for b in batches]).float()
    labelled = ~torch.isnan(y)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out[labelled], y[labelled])
    assert task.evaluate(model, torch.device("cpu"), None).extra["valid_loss"] == pytest.approx(
        bce.item(), rel=1e-6
    )
    assert bce.item() == pytest.approx(lowest["valid_loss"], rel=1e-6)


def test_a_regression_set_is_scored_by_rmse_and_keeps_the_lowest(tmp_path):
    write_ogbg_layout(str(tmp_path), num_graphs=60, name="ogbg-molesol")
    dataset, split = load_ogbg("ogbg-molesol", str(tmp_path))
    task = GraphTask(dataset, split, batch_size=8)
    assert (task.metric, task.maximize) == ("rmse", False)
    torch.manual_seed(0)
    model = GraphPredictor(deeper_gcn(9, 8, 1, 2, edge_dim=3), 8)
    result = train(model, task, TrainConfig(epochs=6, lr=0.05, progress=False))
    lowest = min(result.history, key=lambda r: r["valid_rmse"])
    assert result.best_epoch == lowest["epoch"] and result.valid_metric == lowest["valid_rmse"]
    # The model now holds the lowest-RMSE weights; the loss is the squared error.
    evaluation = task.evaluate(model, torch.device("cpu"), None)
    assert evaluation.scores["valid"] == pytest.approx(lowest["valid_rmse"], rel=1e-6)
    mse = evaluation.scores["valid"] ** 2
    assert evaluation.extra["valid_loss"] == pytest.approx(mse, rel=1e-5)
    # Refused before the run starts: the model is left as it was.
    before = {k: v.clone() for k, v in model.state_dict().items()}
    no_classes = r"label_smoothing=0\.1 smooths class labels; the ogbg-molesol task \(rmse\)"
    with pytest.raises(ValueError, match=no_classes):
        train(model, task, TrainConfig(epochs=1, label_smoothing=0.1, progress=False))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def _run(root, tag, *extra, wait=True):
    argv = [
        sys.executable, str(EXAMPLE), "--root", str(root), "--epochs", "12", "--hidden", "32",
        "--layers", "3", "--batch-size", "4", "--amp", "bf16", "--no-progress",
        "--checkpoint", str(root / f"{tag}.pt"), "--checkpoint-every", "1",
        "--log", str(root / f"{tag}.jsonl"), "--json", str(root / f"{tag}.json"), *extra,
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if wait:
        with reaped(proc):
            out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode()[-3000:]
        return out.decode()
    return proc


def test_molhiv_example_killed_and_resumed_equals_an_uninterrupted_run(root):
    _run(root, "full")
    proc = _run(root, "cut", wait=False)
    log = root / "cut.jsonl"
    with reaped(proc):
        signal_when(proc, lambda: lines_in(log) >= 4, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = load_checkpoint(str(root / "cut.pt"))["epoch"]
    assert 3 <= killed_at < 12
    printed = _run(root, "cut", "--resume")
    assert f"resumed at epoch {killed_at} of 12" in printed
    full = json.loads((root / "full.json").read_text())
    resumed = json.loads((root / "cut.json").read_text())
    for key in ("best_epoch", "train_metric", "valid_metric", "test_metric", "final_loss"):
        assert resumed[key] == full[key], key
    assert resumed["resumed_from"] == killed_at
    cut = list(iter_records(str(root / "cut.jsonl")))
    assert [r["epoch"] for r in cut] == list(range(1, 13))
    assert [r["loss"] for r in cut] == [r["loss"] for r in iter_records(str(root / "full.jsonl"))]
