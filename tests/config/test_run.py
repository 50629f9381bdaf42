import pytest

from revgnn.config import DataConfig, RunConfig
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
