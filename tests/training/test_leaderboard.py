import os

import pytest
import torch

from revgnn.datasets import synthetic_dataset
from revgnn.training import TrainConfig, leaderboard, leaderboard_markdown
from revgnn.training.leaderboard import run_path
from tests.helpers import rev_gnn


@pytest.fixture(scope="module")
def tiny():
    return synthetic_dataset("arxiv", 200, 6.0, seed=0)


def small_model(ds):
    return rev_gnn(ds.num_features, 16, ds.num_classes, 2, norm="layer", dropout=0.2)


def test_leaderboard_summary_and_markdown(tiny, tmp_path):
    cfg = TrainConfig(epochs=2, progress=False, log_path=str(tmp_path / "lb.jsonl"))
    summary = leaderboard(lambda: small_model(tiny), tiny, cfg, runs=3, name="RevGNN-tiny")
    tests = torch.tensor([r["test_metric"] for r in summary["per_run"]], dtype=torch.float64)
    assert [r["seed"] for r in summary["per_run"]] == [0, 1, 2]
    assert summary["test_mean"] == pytest.approx(float(tests.mean()))
    assert summary["test_std"] == pytest.approx(float(tests.std()))
    assert summary["num_params"] == sum(p.numel() for p in small_model(tiny).parameters())
    assert sorted(os.listdir(tmp_path)) == ["lb.run0.jsonl", "lb.run1.jsonl", "lb.run2.jsonl"]
    table = leaderboard_markdown(summary)
    assert "| Model | Test Accuracy | Validation Accuracy | #Params | Peak memory | Runs |" in table
    assert (
        f"| RevGNN-tiny | {100 * summary['test_mean']:.2f} ± {100 * summary['test_std']:.2f} |"
        in table
    )


def test_run_paths_get_a_suffix_only_for_several_runs():
    assert run_path("a/ckpt.pt", 2, 3) == "a/ckpt.run2.pt"
    assert run_path("a/ckpt.pt", 0, 1) == "a/ckpt.pt" and run_path(None, 1, 3) is None


def test_markdown_shows_scores_as_percentages_and_an_error_in_its_units():
    summary = {"model": "m", "metric": "rmse", "test_mean": 1.2345, "test_std": 0.05,
               "valid_mean": 1.1, "valid_std": 0.0, "num_params": 10, "peak_bytes": 1024,
               "runs": 2}  # fmt: skip
    table = leaderboard_markdown(summary)
    assert "| m | 1.2345 ± 0.0500 | 1.1000 ± 0.0000 |" in table and "Test RMSE" in table
    miou = {**summary, "metric": "miou", "test_mean": 0.12345}
    assert "| m | 12.35 ± 5.00 |" in leaderboard_markdown(miou)
