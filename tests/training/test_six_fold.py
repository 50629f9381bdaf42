import json

import pytest

from revgnn.cli import main
from revgnn.config.recipe import load_recipe
from revgnn.training.run_record import load_run
from revgnn.training.six_fold import fold_path, six_fold
from tests.datasets.point_fakes import write_s3dis

SMALL = {
    "model.num_layers": 3, "model.hidden_channels": 8, "model.emb_dims": 16, "model.k": 4,
    "optim.epochs": 1, "run.progress": False, "data.batch_size": 4,
}  # fmt: skip


@pytest.fixture
def areas(tmp_path):
    # Two blocks in each of the six areas, and two rooms in each, so that every fold can
    # hold out a training room for validation.
    rooms = [f"Area_{1 + i // 4}_room{i % 2}" for i in range(24)]
    write_s3dis(tmp_path / "s3dis", blocks=24, points=32, rooms=rooms)
    return tmp_path


def test_each_area_is_held_out_once_and_the_folds_are_pooled(areas, tmp_path):
    recipe = load_recipe("deepgcn/s3dis").with_values(
        {**SMALL, "data.root": str(areas), "run.checkpoint": str(tmp_path / "ck.pt")}
    )
    seen = []
    out = six_fold(recipe, on_fold=seen.append)
    assert [f["test_area"] for f in out["folds"]] == [1, 2, 3, 4, 5, 6] and seen == out["folds"]
    # Every area has the same number of points: the pooled accuracy is the folds' mean.
    assert out["pooled"]["acc"] == pytest.approx(out["mean"]["acc"])
    assert out["mean"]["miou"] == pytest.approx(sum(f["miou"] for f in seen) / 6)
    for area in range(1, 7):
        assert (tmp_path / f"ck.area{area}.pt").exists()
    # A fold's checkpoint rebuilds that fold: its test area and its best model.
    exp, model = load_run(str(tmp_path / "ck.area3.pt"))
    assert exp.recipe.data.test_area == 3 and not model.training


def test_the_command_prints_and_writes_the_six_folds(areas, tmp_path, capsys):
    out = tmp_path / "six.json"
    args = ["deepgcn", "--dataset", "s3dis", "--root", str(areas), "--arch", "resgcn-3"]
    small = ["--channels", "8", "--emb-dims", "16", "--k", "4", "--epochs", "1"]
    assert main([*args, *small, "--no-progress", "--six-fold", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Area_6: OA" in text and "6-fold pooled: OA" in text and "6-fold mean:" in text
    result = json.loads(out.read_text())
    assert len(result["folds"]) == 6 and set(result["pooled"]) == {"acc", "macc", "miou"}
    assert main([*args, "--six-fold", "--test-area", "2"]) == 2
    assert "drop --test-area" in capsys.readouterr().err


def test_only_a_dataset_with_areas_has_six_folds():
    with pytest.raises(ValueError, match="has no areas"):
        six_fold(load_recipe("deepgcn/modelnet40"))
    with pytest.raises(ValueError, match="subset of"):
        six_fold(load_recipe("deepgcn/s3dis"), areas=[7])
    assert fold_path("out/run.pt", 3) == "out/run.area3.pt" and fold_path(None, 1) is None
