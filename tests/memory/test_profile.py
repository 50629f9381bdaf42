import json

import pytest

from revgnn.cli import main
from revgnn.memory.kinds import Config, num_parameters
from revgnn.memory.profile import graph_config, load_graph, profile_config, profile_in_subprocess

TINY = {"num_nodes": 40, "num_edges": 160, "hidden_channels": 8}


def test_profile_command_writes_json_and_png(tmp_path, capsys):
    out = tmp_path / "tiny"
    argv = [
        "profile", "--kinds", "revgnn", "--depths", "2,4", "--widths", "8",
        "--nodes", "40", "--degree", "4", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["meta"]["torch"]
    results = data["results"]
    assert [r["config"]["num_layers"] for r in results] == [2, 4]
    for r in results:
        assert r["num_parameters"] == num_parameters(Config.from_dict(r["config"]))
        assert r["peak_bytes"] > r["baseline_bytes"] > 0
        assert r["saved_bytes"] > 0 and r["step_seconds"] > 0 and r["peak_rss_bytes"] > 0
        assert r["predicted_bytes"] > 0
    # Reversible: the forward keeps the same bytes at both depths.
    assert results[0]["saved_bytes"] == results[1]["saved_bytes"]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "RevGNN" in capsys.readouterr().out


def test_saved_bytes_flat_for_reversible_linear_for_plain():
    rev = [
        profile_config(Config(kind="revgnn", num_layers=n, **TINY), timed_steps=0) for n in (2, 6)
    ]
    plain = [
        profile_config(Config(kind="deepergcn", num_layers=n, **TINY), timed_steps=0)
        for n in (2, 6)
    ]
    assert rev[0]["saved_bytes"] == rev[1]["saved_bytes"]
    assert plain[1]["saved_bytes"] > 2 * plain[0]["saved_bytes"]
    # Peaks count what is alive: weights and Adam state at least.
    for r in rev + plain:
        cfg = Config.from_dict(r["config"])
        assert r["baseline_bytes"] >= 12 * num_parameters(cfg)


def test_subprocess_failure_is_a_record_not_an_exception():
    cfg = Config(kind="revgnn", num_layers=2, **TINY)
    record = profile_in_subprocess(cfg, memory_limit=1, timeout=300)
    assert "memory limit" in record["error"]
    assert record["config"]["kind"] == "revgnn"


def test_bundled_dataset_sets_the_graph_sizes():
    graph = load_graph("cora")
    cfg = graph_config(Config(kind="revgnn", num_layers=2, hidden_channels=8), graph)
    assert (cfg.num_nodes, cfg.num_edges, cfg.in_channels, cfg.out_channels) == (
        2708,
        10556,
        1433,
        7,
    )
    assert cfg.edge_dim is None and not cfg.multilabel


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="dataset='nope' is neither a bundled dataset"):
        load_graph("nope")
