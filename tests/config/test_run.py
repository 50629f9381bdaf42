import pytest

from revgnn.config import DataConfig, RunConfig, TrainConfig
from revgnn.config.fields import MAX_SEED


def test_resume_needs_a_checkpoint_and_resume_if_exists_implies_resume():
    with pytest.raises(
        ValueError, match=r"resume=True needs checkpoint= \(--checkpoint\), the file to resume from"
    ):
        RunConfig(resume=True)
    cfg = RunConfig(missing_ok=True, checkpoint="run.pt")
    assert cfg.resume and cfg.missing_ok
    with pytest.raises(ValueError, match="runs=0 must be at least 1"):
        RunConfig(runs=0)


def test_seeds_are_those_every_generator_takes():
    assert RunConfig(seed=MAX_SEED).seed == 2**32 - 1 and DataConfig(split_seed=0).split_seed == 0
    with pytest.raises(ValueError, match=r"^seed=-1 must lie in \[0, 4294967295\] \(seed of"):
        RunConfig(seed=-1)
    with pytest.raises(ValueError, match=r"seed=4294967296 must lie in \[0, 4294967295\]"):
        RunConfig(seed=2**32)
    with pytest.raises(ValueError, match=r"split_seed=-3 must lie in \[0, 4294967295\]"):
        DataConfig(split_seed=-3)


def test_paths_from_a_recipe_file_start_at_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    run = RunConfig(checkpoint="~/runs/a.pt", log_path="~/a.jsonl")
    assert (run.checkpoint, run.log_path) == (f"{tmp_path}/runs/a.pt", f"{tmp_path}/a.jsonl")
    data = DataConfig(dataset="~/g.pt", root="~/data")
    assert (data.dataset, data.root) == (f"{tmp_path}/g.pt", f"{tmp_path}/data")
    assert DataConfig(dataset="cora", root="data/x~").root == "data/x~"  # only a leading ~
    assert TrainConfig(checkpoint="~/b.pt").checkpoint == f"{tmp_path}/b.pt"
