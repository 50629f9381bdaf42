import json

import pytest

from revgnn.cli import main
from tests.datasets import point_fakes

SMALL = ["--channels", "8", "--emb-dims", "16", "--k", "4", "--epochs", "1", "--no-progress"]


def test_synthetic_run_writes_the_scores_and_settings(tmp_path, capsys):
    out = tmp_path / "r.json"
    args = ["deepgcn", "--num-clouds", "20", "--num-points", "32", "--arch", "rev-resgcn-3"]
    assert main([*args, *SMALL, "--batch-size", "8", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "synthetic-textures: 20 clouds x 32 points" in text and "test acc " in text
    result = json.loads(out.read_text())
    recipe = result["recipe"]
    assert recipe["model"]["backbone"] == "rev" and recipe["optim"]["optimizer"] == "adam"
    assert 0 <= result["test_metric"] <= 1 and "test_macc" in result["best_epoch_record"]
    assert "(macc " in text  # the best epoch's other test figures are printed too


def test_the_pointnet_baseline_runs_on_the_same_set(capsys):
    args = ["deepgcn", "--num-clouds", "20", "--num-points", "32", "--arch", "pointnet"]
    assert main([*args, "--epochs", "1", "--no-progress", "--emb-dims", "16"]) == 0
    assert "parameters: PointNet(" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("dataset", "write", "extra"),
    [
        ("s3dis", "write_s3dis", []),
        ("partnet", "write_partnet", ["--category", "Chair"]),
        ("modelnet10", "write_modelnet", ["--num-points", "32"]),
        ("modelnet40", "write_modelnet_h5", ["--num-points", "32"]),
        ("shapenet", "write_shapenet", ["--num-points", "32"]),
        ("ppi", "write_ppi", []),
    ],
)
def test_one_epoch_on_each_loaders_fake_folder(tmp_path, dataset, write, extra, capsys):
    getattr(point_fakes, write)(tmp_path / dataset)
    args = ["deepgcn", "--dataset", dataset, "--root", str(tmp_path), "--arch", "resgcn-3"]
    assert main([*args, *SMALL, *extra, "--batch-size", "4"]) == 0
    assert "best epoch 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test-area", "2"], "--test-area is not used by --dataset synthetic-textures"),
        (["--dataset", "s3dis", "--num-clouds", "9"], "--num-clouds is not used by --dataset"),
        (["--groups", "4", "--arch", "resgcn-7"], "--groups is not used by --backbone res"),
        (["--k", "4", "--arch", "pointnet"], "--k is not used by --model pointnet"),
        (["--arch", "rev-densegcn-7"], "only residual backbones have a reversible form"),
        (["--dataset", "ppi"], "dataset 'ppi' needs root= (--root)"),
        (["--dataset", "s3dis", "--root", "/nonexistent"], "S3DIS: none of /nonexistent/s3dis"),
        (["--arch", "rev-resgcn-151"], "of 256 points: pass --max-dilation 28"),
        (["--knn-graphs", "keep", "--arch", "resgcn-7"], "--knn-graphs is not used by --backbone"),
    ],
)
def test_wrong_flags_are_one_line(args, message, capsys):
    assert main(["deepgcn", *args, "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
