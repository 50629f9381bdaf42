from types import SimpleNamespace

import pytest

from revgnn.training.log import JsonlLog, iter_records


def loop(resumed_from=0, overwrite=False):
    cfg = SimpleNamespace(overwrite=overwrite)
    return SimpleNamespace(main=True, resumed_from=resumed_from, cfg=cfg)


def test_a_resumed_log_keeps_the_checkpoints_epochs_and_skips_a_cut_line(tmp_path):
    path = str(tmp_path / "run.jsonl")
    log = JsonlLog(path)
    log.on_fit_start(loop())
    for epoch in range(1, 6):
        log.on_epoch_end(loop(), epoch, {"epoch": epoch, "loss": 1.0 / epoch})
    with open(path, "a") as f:
        f.write('{"epoch": 6, "lo')  # killed in the middle of a line
    assert [r["epoch"] for r in iter_records(path)] == [1, 2, 3, 4, 5]
    resumed = JsonlLog(path)
    resumed.on_fit_start(loop(resumed_from=3))
    resumed.on_epoch_end(loop(3), 4, {"epoch": 4, "loss": 0.0})
    assert [(r["epoch"], r["loss"]) for r in iter_records(path)][-2:] == [(3, 1 / 3), (4, 0.0)]
    # A new run refuses to replace a log, unless it may overwrite its outputs.
    with pytest.raises(FileExistsError, match=r"run.jsonl exists: pass --overwrite"):
        JsonlLog(path).on_fit_start(loop())
    JsonlLog(path).on_fit_start(loop(overwrite=True))
    assert list(iter_records(path)) == []
