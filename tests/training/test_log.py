from revgnn.training.log import JsonlLog, iter_records


def test_a_resumed_log_keeps_the_checkpoints_epochs_and_skips_a_cut_line(tmp_path):
    path = str(tmp_path / "run.jsonl")
    log = JsonlLog(path, None)
    for epoch in range(1, 6):
        log.write({"epoch": epoch, "loss": 1.0 / epoch})
    with open(path, "a") as f:
        f.write('{"epoch": 6, "lo')  # killed in the middle of a line
    assert [r["epoch"] for r in iter_records(path)] == [1, 2, 3, 4, 5]
    JsonlLog(path, keep_until=3).write({"epoch": 4, "loss": 0.0})
    assert [(r["epoch"], r["loss"]) for r in iter_records(path)][-2:] == [(3, 1 / 3), (4, 0.0)]
    JsonlLog(path, None)  # a new run starts a new file
    assert list(iter_records(path)) == []
