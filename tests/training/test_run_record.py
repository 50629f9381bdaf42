import json

import pytest
import torch

from revgnn import ModelConfig, TrainConfig, build_model, load_run, train
from revgnn.cli import main
from revgnn.datasets import synthetic_dataset
from revgnn.training import CheckpointError, load_checkpoint


def test_load_run_rebuilds_the_runs_data_and_model_with_its_best_weights(tmp_path, capsys):
    path, record = tmp_path / "run.pt", tmp_path / "run.json"
    argv = ["train", "--layers", "3", "--hidden", "16", "--epochs", "12", "--checkpoint",
            str(path), "--json", str(record), "--no-progress", "--no-compare"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == (
        f"checkpoint {path}: revgnn.load_run({str(path)!r}) gives the run's data and model"
    )
    result = json.loads(record.read_text())
    exp, model = load_run(str(path))
    assert not model.training
    assert exp.recipe.model.num_layers == 3 and exp.recipe.model.hidden_channels == 16
    ds = exp.dataset
    with torch.no_grad():
        pred = model(ds.data.x, ds.data.edge_index).argmax(-1)
    test = ds.split["test"]
    accuracy = (pred[test] == ds.data.y[test]).float().mean().item()
    assert accuracy == pytest.approx(result["test_metric"], abs=1e-6)
    # The recipe is kept as text: weights_only reads it.
    assert "num_layers: 3" in load_checkpoint(str(path))["callbacks"]["RecipeRecord"]["recipe"]
    # The data may live elsewhere on the machine that loads the run.
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_run(str(path), root=str(tmp_path / "nowhere"))


def _best_weights(path):
    return load_checkpoint(path)["callbacks"]["BestWeights"]["state"]


def test_a_checkpoint_of_a_model_built_in_python_points_to_load_trained(tmp_path):
    ds = synthetic_dataset("arxiv", 60, 4.0, seed=0)
    path = str(tmp_path / "run.pt")
    model = build_model(ModelConfig(num_layers=2, hidden_channels=8), ds.num_features,
                        ds.num_classes)  # fmt: skip
    train(model, ds, TrainConfig(epochs=2, checkpoint=path, progress=False))
    with pytest.raises(CheckpointError, match=r"holds no recipe: .* load_trained\(model, "):
        load_run(path)


def test_each_leaderboard_run_keeps_its_own_seed_and_checkpoint(tmp_path, capsys):
    path = tmp_path / "lb.pt"
    argv = ["train", "--layers", "2", "--hidden", "8", "--epochs", "2", "--runs", "2",
            "--seed", "5", "--checkpoint", str(path), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    runs = [str(tmp_path / f"lb.run{r}.pt") for r in range(2)]
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"checkpoint {', '.join(runs)}: revgnn.load_run({runs[0]!r}) gives a run's data and model"
    )
    for r, run in enumerate(runs):
        exp, model = load_run(run)
        assert exp.recipe.run.seed == 5 + r and exp.recipe.run.checkpoint == run
        assert torch.equal(model.head.lin.weight, _best_weights(run)["head.lin.weight"])
