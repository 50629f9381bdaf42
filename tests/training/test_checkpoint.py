import pickle

import pytest
import torch
from torch import nn

from revgnn.training import CheckpointError, load_checkpoint
from revgnn.training.checkpoint import check_model_state, save_checkpoint


def test_written_atomically_and_read_back_weights_only(tmp_path):
    path = tmp_path / "sub" / "run.pt"
    save_checkpoint({"epoch": 3, "model": {"w": torch.ones(2)}}, str(path))
    ckpt = load_checkpoint(str(path))
    assert (
        ckpt["epoch"] == 3
        and ckpt["format"] == 1
        and torch.equal(ckpt["model"]["w"], torch.ones(2))
    )
    assert [p.name for p in path.parent.iterdir()] == ["run.pt"]  # no temporary file left


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_unusable_files_are_refused_in_one_sentence_without_torchs_advice(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint({"epoch": 1}, str(good))
    data = good.read_bytes()
    files = {
        "truncated": (data[: len(data) // 2], "truncated or corrupted"),
        "text": (b"epoch = 3\n", "torch.load cannot read it"),
        "empty": (b"", "empty or truncated"),
        "pickle": (pickle.dumps({"epoch": 3}), "objects other than tensors"),
    }
    for name, (content, why) in files.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(str(path))
        text = str(err.value)
        assert f"{path} is not a revgnn checkpoint: " in text and why in text, name
        assert "weights_only" not in text and "\n" not in text
    torch.save({"epoch": 3}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="lacks the format marker"):
        load_checkpoint(str(tmp_path / "plain.pt"))
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(str(tmp_path / "typo.pt"))


def test_a_checkpoint_of_another_model_names_the_differences():
    saved = nn.Sequential(nn.Linear(4, 64), nn.Linear(64, 2)).state_dict()
    model = nn.Sequential(nn.Linear(4, 32), nn.Linear(32, 2))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as err:
        check_model_state(model, saved, "c.pt", "Sequential(64 wide)")
    text = str(err.value)
    assert "c.pt was written for a different model: 0.weight has shape [64, 4] there and " in text
    assert "[32, 4] here" in text and "(and 1 more)" in text and "Sequential(64 wide)" in text
    assert f"this run's {model!r}" in text
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # untouched
    check_model_state(model, model.state_dict(), "c.pt")  # the same model passes


def test_load_trained_gives_a_fresh_model_the_runs_restored_best_weights(tmp_path):
    # The checkpoint's last write holds the last epoch's weights next to the best ones the
    # run restored at its end: a model rebuilt from the recipe gets the latter.
    from revgnn import ModelConfig, TrainConfig, build_model, load_trained, train
    from revgnn.datasets import synthetic_dataset

    ds = synthetic_dataset("arxiv", 120, 6.0, seed=0)
    cfg, path = ModelConfig(num_layers=2, hidden_channels=16), str(tmp_path / "run.pt")
    torch.manual_seed(0)
    model = build_model(cfg, ds.num_features, ds.num_classes)
    train(model, ds, TrainConfig(epochs=40, checkpoint=path, progress=False))
    ckpt = load_checkpoint(path)
    assert ckpt["epoch"] == 40 and ckpt["best"]["epoch"] < 40  # best and last differ
    fresh = load_trained(build_model(cfg, ds.num_features, ds.num_classes), path)
    assert not fresh.training
    x, edge_index = ds.data.x, ds.data.edge_index
    with torch.no_grad():
        assert torch.equal(fresh(x, edge_index), model.eval()(x, edge_index))
        last = build_model(cfg, ds.num_features, ds.num_classes).eval()
        last.load_state_dict(ckpt["model"])
        assert not torch.equal(last(x, edge_index), fresh(x, edge_index))
    wider = build_model(ModelConfig(num_layers=2, hidden_channels=32), ds.num_features, 8)
    with pytest.raises(CheckpointError, match=r"written for a different model: .* Build the "
                       r"model as the run that wrote it did .*load_run\("):  # fmt: skip
        load_trained(wider, path)
