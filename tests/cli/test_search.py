import json

import pytest
import torch

from revgnn.cli import main
from revgnn.cli.search import _data
from revgnn.config import Recipe

SMALL = [
    "--channels",
    "4",
    "--cells",
    "1",
    "--warmup",
    "1",
    "--decision-every",
    "1",
    "--no-progress",
]


def test_a_point_search_writes_genotype_decisions_plot_and_latencies(tmp_path, capsys):
    out = tmp_path / "s"
    args = [
        "search",
        "--num-clouds",
        "30",
        "--num-points",
        "32",
        "--k",
        "4",
        "--batch-size",
        "8",
        "--latency-target",
        "50",
        "--out",
        str(out),
        *SMALL,
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "latency table (ms): none" in text and "epoch 1: edge" in text
    decisions = [json.loads(x) for x in (out / "decisions.jsonl").read_text().splitlines()]
    assert len(decisions) == 6 and {"edge", "op", "score", "certainty", "stability"} <= set(
        decisions[0]
    )
    assert json.loads((out / "genotype.json").read_text())["meta"]["method"] == "sgas"
    assert (out / "cell.png").read_bytes()[:4] == b"\x89PNG"
    result = json.loads((out / "result.json").read_text())
    assert result["measured_latency_ms"] > 0 and result["search_epochs"] == 6


def test_a_graph_search_retrains_the_found_cell(tmp_path, capsys):
    out = tmp_path / "g"
    args = [
        "search",
        "--dataset",
        "cora",
        "--method",
        "darts",
        "--darts-epochs",
        "2",
        "--eval-epochs",
        "2",
        "--eval-cells",
        "1",
        "--eval-channels",
        "8",
        "--out",
        str(out),
        *SMALL[:4],
        "--no-progress",
    ]
    assert main(args) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["method"] == "darts" and result["criterion"] is None
    assert 0 < result["eval"]["test"] <= 1 and result["eval"]["epochs"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "darts", "--criterion", "1"], "--criterion is not used by --method darts"),
        (["--dataset", "cora", "--k", "4"], "--k is not used by --dataset cora (a graph"),
        (["--latency-weight", "2"], "--latency-weight is not used by a search without --lat"),
        (["--epochs", "3"], "--epochs is not used by a search"),
        (["--darts-epochs", "3"], "darts_epochs=3 is DARTS' budget"),
        (["--dataset", "imagenet"], "dataset='imagenet' is not one of"),
        (["--cells", "0"], "cells=0 must be at least 1"),
        (["--parts", "3"], "--parts is not used by --partition full"),
    ],
)
def test_wrong_flags_are_one_line_errors(extra, message, capsys, tmp_path):
    assert main(["search", *extra, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_finished_search_is_never_overwritten_silently(tmp_path, capsys):
    out = tmp_path / "s"
    out.mkdir()
    (out / "genotype.json").write_text("{}")
    assert main(["search", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds the results of a search (genotype.json); choose another folder" in err
    assert "--overwrite" in err
    assert (out / "genotype.json").read_text() == "{}"


def test_the_search_has_the_loops_run_flags(capsys):
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = capsys.readouterr().out
    for flag in ("--resume", "--amp", "--checkpoint", "--log", "--device", "--seed"):
        assert f"{flag} " in text or f"{flag}\n" in text, flag


def test_a_graph_search_trains_on_the_recipes_preprocessed_features():
    cora = _data(Recipe().with_values({"data.dataset": "cora"}))["dataset"]
    sums = cora.data.x.sum(1)
    assert torch.allclose(sums[sums > 0], torch.ones(int((sums > 0).sum())))  # auto -> row
    walk = Recipe().with_values({"data.dataset": "cora", "data.positional": "walk"})
    assert _data(walk)["features"] == 1433 + 384
