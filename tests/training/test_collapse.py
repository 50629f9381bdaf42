from revgnn.training.collapse import CollapseMonitor


def test_says_so_once_after_patience_single_class_evaluations_in_a_row():
    monitor = CollapseMonitor(3)
    assert monitor.update(1, 1) is None and monitor.update(2, 1) is None
    assert monitor.update(3, 4) is None  # a varied evaluation restarts the count
    assert monitor.update(4, 1) is None and monitor.update(5, 1) is None
    message = monitor.update(6, 1)
    assert "3 evaluations running (epochs 4-6)" in message and "--lr" in message
    assert monitor.update(7, 1) is None  # once
    assert CollapseMonitor(0).update(1, 1) is None and CollapseMonitor(2).update(1, None) is None
