import copy
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from revgnn.datasets import load_cora, synthetic_dataset
from revgnn.training import (
    CheckpointError,
    NodeTask,
    TrainConfig,
    evaluate,
    iter_records,
    load_checkpoint,
    seed_everything,
    train,
)
from revgnn.training.loop import resolve_device
from tests.helpers import lines_in, reaped, rev_gnn, signal_when

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import torch
    from revgnn.datasets import synthetic_dataset
    from revgnn import ModelConfig, build_model
    from revgnn.training import NodeTask, TrainConfig, seed_everything, train

    mode, ckpt, log, out = sys.argv[1:5]

    class Hooked(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, *args):
            return self.model(*args)

        def epoch_start(self, epoch):
            self.epoch = epoch
            if mode == "kill":
                time.sleep(0.4)  # slow enough for the parent to kill it mid-run

        def log_metrics(self):
            return {"hook_epoch": self.epoch}

    ds = synthetic_dataset("proteins", 300, 8.0, seed=0)
    seed_everything(5)
    cfg = ModelConfig(hidden_channels=16, num_layers=3, conv="gen", norm="batch", dropout=0.3,
                      input_dropout=0.0, shared_dropout=False)
    model = Hooked(build_model(cfg, ds.num_features, ds.num_classes, 8))
    task = NodeTask(ds, partition="random", num_parts=3, eval_parts=2, eval_views=2)
    cfg = TrainConfig(epochs=12, lr=0.01, eval_every=2, seed=5, checkpoint=ckpt,
                      checkpoint_every=1, resume=mode == "resume", log_path=log,
                      progress=False)
    result = train(model, task, cfg)
    torch.save(model.state_dict(), out + ".pt")
    with open(out, "w") as f:
        json.dump(result.as_dict(), f)
    """
)


def run_child(script, mode, tmp_path, tag, wait=True):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    args = [
        sys.executable,
        str(script),
        mode,
        str(tmp_path / f"{tag}.ckpt"),
        str(tmp_path / f"{tag}.jsonl"),
        str(tmp_path / f"{tag}.json"),
    ]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if wait:
        with reaped(proc):
            out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode()[-3000:]
    return proc


def test_resume_after_kill_equals_uninterrupted_run(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    run_child(script, "full", tmp_path, "full")

    # A real kill: SIGKILL once at least 5 epochs are logged (checkpoints every epoch).
    proc = run_child(script, "kill", tmp_path, "cut", wait=False)
    log = tmp_path / "cut.jsonl"
    with reaped(proc):
        signal_when(proc, lambda: lines_in(log) >= 5, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = load_checkpoint(str(tmp_path / "cut.ckpt"))["epoch"]
    assert 4 <= killed_at < 12
    assert not (tmp_path / "cut.json").exists()

    run_child(script, "resume", tmp_path, "cut")
    full = json.loads((tmp_path / "full.json").read_text())
    resumed = json.loads((tmp_path / "cut.json").read_text())
    for key in ("best_epoch", "train_metric", "valid_metric", "test_metric", "final_loss"):
        assert resumed[key] == full[key], key
    a = torch.load(tmp_path / "full.json.pt", weights_only=True)
    b = torch.load(tmp_path / "cut.json.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)

    # The log has each epoch once, with the uninterrupted run's figures and the hook's.
    full_log = list(iter_records(str(tmp_path / "full.jsonl")))
    cut_log = list(iter_records(str(tmp_path / "cut.jsonl")))
    assert [r["epoch"] for r in cut_log] == list(range(1, 13))
    assert [r["loss"] for r in cut_log] == [r["loss"] for r in full_log]
    assert [r.get("valid_rocauc") for r in cut_log] == [r.get("valid_rocauc") for r in full_log]
    assert [r["hook_epoch"] for r in cut_log] == list(range(1, 13))


@pytest.fixture(scope="module")
def tiny():
    return synthetic_dataset("arxiv", 200, 6.0, seed=0)


def small_model(ds, **kw):
    return rev_gnn(ds.num_features, 16, ds.num_classes, 2, norm="layer", dropout=0.2, **kw)


def test_checkpoint_is_weights_only_and_complete(tiny, tmp_path):
    seed_everything(0)
    ckpt = tmp_path / "run.ckpt"
    cfg = TrainConfig(epochs=3, checkpoint=str(ckpt), checkpoint_every=2, progress=False)
    train(small_model(tiny), tiny, cfg)
    raw = torch.load(ckpt, weights_only=True)
    assert raw["epoch"] == 3  # the last epoch is always saved
    assert {"model", "optimizers", "scaler", "rng", "best", "callbacks", "config"} <= set(raw)
    assert set(raw["callbacks"]["BestWeights"]["state"]) == set(raw["model"])
    assert {"python", "numpy", "torch"} <= set(raw["rng"])
    assert raw["best"]["epoch"] in (1, 2, 3)
    assert not [p for p in os.listdir(tmp_path) if ".tmp" in p]
    torch.save({"epoch": 3}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="is not a revgnn checkpoint"):
        load_checkpoint(str(tmp_path / "other.pt"))


def test_best_valid_weights_are_kept_and_runs_are_deterministic(tiny):
    results = []
    for _ in range(2):
        seed_everything(1)
        model = small_model(tiny)
        results.append(train(model, tiny, TrainConfig(epochs=6, progress=False)))
        scores = evaluate(model, tiny)
        assert scores["valid"] == results[-1].valid_metric
        assert scores["test"] == results[-1].test_metric
    a, b = results
    assert a.as_dict(history=True) | {"seconds": 0, "history": 0, "peak_rss_bytes": 0} == (
        b.as_dict(history=True) | {"seconds": 0, "history": 0, "peak_rss_bytes": 0}
    )
    assert [r["loss"] for r in a.history] == [r["loss"] for r in b.history]
    best = max(a.history, key=lambda r: r["valid_acc"])
    assert a.best_epoch == best["epoch"] and a.test_metric == best["test_acc"]


def test_log_memory_and_grad_clipping(tiny, tmp_path, monkeypatch):
    calls = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(params, max_norm, *args, **kwargs):
        calls.append(max_norm)
        return original(params, max_norm, *args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    seed_everything(0)
    log = tmp_path / "log.jsonl"
    cfg = TrainConfig(
        epochs=4, grad_clip=0.5, eval_every=2, memory_every=3, log_path=str(log), progress=False
    )
    result = train(small_model(tiny), tiny, cfg)
    assert calls == [0.5] * 4
    records = list(iter_records(str(log)))
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert ["valid_acc" in r for r in records] == [False, True, False, True]
    # Live-tensor peak measured on the second epoch and every 3rd; RSS every epoch.
    assert ["peak_bytes" in r for r in records] == [False, True, True, False]
    assert all(r["peak_bytes"] > 0 for r in records if "peak_bytes" in r)
    assert all(r["peak_rss_bytes"] > 0 for r in records)
    assert result.peak_bytes == max(r["peak_bytes"] for r in records if "peak_bytes" in r)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_amp_training(tiny, tmp_path, amp):
    seed_everything(0)
    ckpt = tmp_path / "amp.ckpt"
    cfg = TrainConfig(epochs=2, amp=amp, checkpoint=str(ckpt), progress=False)
    result = train(small_model(tiny), tiny, cfg)
    assert torch.isfinite(torch.tensor(result.final_loss))
    scaler = load_checkpoint(str(ckpt))["scaler"]
    assert ("scale" in scaler) == (amp == "fp16")  # GradScaler only for fp16


def test_metis_training_and_multiview_evaluation():
    ds = synthetic_dataset("proteins", 200, 8.0)
    seed_everything(0)
    model = rev_gnn(ds.num_features, 16, ds.num_classes, 2, edge_dim=8)
    task = NodeTask(ds, partition="metis", num_parts=4, eval_parts=2, eval_views=3)
    result = train(model, task, TrainConfig(epochs=2, progress=False))
    assert 0.0 < result.test_metric < 1.0
    assert evaluate(model, task)["test"] == result.test_metric


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_epoch_reports_allocator_peak():
    ds = load_cora()
    seed_everything(0)
    cfg = TrainConfig(epochs=2, device="cuda", amp="bf16", progress=False)
    result = train(small_model(ds), ds, cfg)
    assert result.peak_bytes > 0 and all("peak_bytes" in r for r in result.history)


def test_every_run_says_whether_it_resumed_and_never_overwrites(tiny, tmp_path, capsys):
    ckpt = str(tmp_path / "run.pt")
    seed_everything(0)
    train(small_model(tiny), tiny, TrainConfig(epochs=2, checkpoint=ckpt, progress=False))
    assert f"checkpoint {ckpt}: new run" in capsys.readouterr().out
    # A run that does not resume may not replace the file.
    with pytest.raises(CheckpointError, match="exists and this run does not resume from it"):
        train(small_model(tiny), tiny, TrainConfig(epochs=2, checkpoint=ckpt, progress=False))
    cfg = TrainConfig(epochs=3, checkpoint=ckpt, resume=True, progress=False)
    result = train(small_model(tiny), tiny, cfg)
    assert "resumed at epoch 2 of 3 (continuing)" in capsys.readouterr().out
    assert result.resumed_from == 2 and [r["epoch"] for r in result.history] == [3]
    typo = str(tmp_path / "typo.pt")
    with pytest.raises(CheckpointError, match=r"typo\.pt does not exist, so there is nothing"):
        train(small_model(tiny), tiny, TrainConfig(checkpoint=typo, resume=True, progress=False))
    cfg = TrainConfig(epochs=1, checkpoint=typo, resume=True, missing_ok=True, progress=False)
    train(small_model(tiny), tiny, cfg)
    assert "none yet, starting a new run" in capsys.readouterr().out
    cfg = TrainConfig(epochs=1, checkpoint=ckpt, overwrite=True, progress=False)
    assert train(small_model(tiny), tiny, cfg).resumed_from == 0


def test_without_the_bar_each_evaluation_prints_a_line(tiny, capsys):
    seed_everything(0)
    train(small_model(tiny), tiny, TrainConfig(epochs=4, eval_every=2, progress=False))
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "| epoch" in ln]
    assert len(lines) == 2 and lines[1].startswith("synthetic-arxiv seed 0 | epoch 4/4 | loss ")
    assert "valid acc " in lines[1] and "best test acc " in lines[1]


def test_a_collapsed_model_is_named_with_its_likely_causes(tiny):
    class Constant(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = torch.nn.Parameter(torch.zeros(tiny.num_classes))

        def forward(self, x, edge_index):
            return self.bias.expand(x.size(0), -1) + torch.arange(tiny.num_classes) * 0.0

    cfg = TrainConfig(epochs=14, collapse_patience=3, progress=False)
    with pytest.warns(UserWarning, match="predicted one class for every validation node for 3"):
        train(Constant(), tiny, cfg)


def test_bad_data_and_a_diverging_loss_are_errors(tiny):
    bad = copy.deepcopy(tiny)
    bad.data.x[5, 2] = float("nan")
    with pytest.raises(ValueError, match=r"node features x contain 1 NaN/inf values \(first in"):
        train(small_model(tiny), bad, TrainConfig(epochs=1, progress=False))
    out_of_range = copy.deepcopy(tiny)
    out_of_range.data.edge_index[0, 3] = tiny.num_nodes + 7
    with pytest.raises(ValueError, match=f"edge_index refers to node {tiny.num_nodes + 7}"):
        train(small_model(tiny), out_of_range, TrainConfig(epochs=1, progress=False))
    seed_everything(0)
    with pytest.raises(FloatingPointError, match="the training loss became nan"):
        train(small_model(tiny), tiny, TrainConfig(epochs=2, lr=1e30, grad_clip=None))


def test_a_device_this_machine_lacks_is_refused_saying_what_to_use():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device='foo' is not a device \(cpu, cuda, cuda:1"):
        resolve_device("foo")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda:1', but this torch sees no CUDA GPU"):
            resolve_device("cuda:1")
    else:  # an index beyond the GPUs there are
        with pytest.raises(ValueError, match=r"but this machine has \d+ GPU\(s\): use --device"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match=r"^device='mps' is not usable with this torch .*\): "
                           r"use --device cpu"):  # fmt: skip
            resolve_device("mps")
