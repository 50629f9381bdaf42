import pytest

from revgnn.memory.plot import plot_check, plot_depth

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def record(kind, layers, peak, predicted):
    config = {"kind": kind, "num_layers": layers, "hidden_channels": 64, "num_groups": 2}
    config.update(amp=None, aggr="max")
    return {
        "config": config,
        "device": "cpu",
        "peak_bytes": peak,
        "predicted_bytes": predicted,
        "peak_rss_bytes": 4 * peak,
        "saved_bytes": peak // 2,
    }


def test_depth_and_check_plots_are_written(tmp_path):
    results = [record("revgnn", n, 2**20 * (10 + n), 2**20 * (11 + n)) for n in (7, 28, 112)]
    results += [record("deepergcn", n, 2**20 * 10 * n, 2**20 * 9 * n) for n in (7, 28)]
    plot_depth(results, tmp_path / "depth.png", title="t")
    plot_check(results, tmp_path / "check.png")
    assert (tmp_path / "depth.png").read_bytes()[:8] == PNG
    assert (tmp_path / "check.png").read_bytes()[:8] == PNG
