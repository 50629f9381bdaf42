import numpy as np
import pytest
import torch

from revgnn.memory.kinds import Config, num_parameters
from revgnn.profiling.profile import graph_config, load_graph, profile_config, profile_in_subprocess

TINY = {"num_nodes": 40, "num_edges": 160, "hidden_channels": 8}


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


def test_a_graph_file_is_read_as_revgnn_train_reads_it(tmp_path):
    edge_index = torch.stack([torch.arange(10), (torch.arange(10) + 1) % 10])
    y = np.array([0, 2, -1, 1, 0, 1, 2, 0, 1, 2])
    np.savez(tmp_path / "g.npz", edge_index=edge_index.numpy(), y=y)
    graph = load_graph(str(tmp_path / "g.npz"))
    assert torch.equal(graph.edge_index, edge_index) and graph.x.shape == (10, 1)
    assert graph.y.tolist() == [0, 2, 0, 1, 0, 1, 2, 0, 1, 2]  # unlabelled: class 0


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="dataset='nope' is neither a bundled dataset"):
        load_graph("nope")
