import pytest

from revgnn.config import SearchConfig


def test_the_schedule_of_a_search():
    sgas = SearchConfig()
    assert sgas.total_epochs == 9 + 5 * 7
    assert [e for e in range(1, 50) if sgas.decides_after(e)] == [9, 16, 23, 30, 37, 44]
    assert SearchConfig(method="darts", darts_epochs=5).total_epochs == 5
    assert SearchConfig(method="darts").total_epochs == sgas.total_epochs


def test_settings_a_method_does_not_use():
    with pytest.raises(ValueError, match="darts_epochs=5 is DARTS' budget"):
        SearchConfig(darts_epochs=5)
    darts = SearchConfig(method="darts").unused()
    assert "criterion" in darts and "batch_increase" in darts
    assert "latency_weight" in SearchConfig().unused()
    assert "latency_weight" not in SearchConfig(latency_target=2.0).unused()
    assert "eval_cells" in SearchConfig().unused()
