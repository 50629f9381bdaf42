from revgnn.training import TrainResult


def test_as_dict_drops_the_history_unless_asked():
    result = TrainResult(
        "cora", "acc", 3, 2, 0.9, 0.8, 0.7, 0.5, 10, 1, 2, 1.0, 0, 0, 3, "", [{"a": 1}]
    )
    assert "history" not in result.as_dict() and result.as_dict()["resumed_from"] == 0
    assert result.as_dict(history=True)["history"] == [{"a": 1}]
