import pytest

from revgnn.config import RunConfig


def test_resume_needs_a_checkpoint_and_resume_if_exists_implies_resume():
    with pytest.raises(
        ValueError, match=r"resume=True needs checkpoint= \(--checkpoint\), the file to resume from"
    ):
        RunConfig(resume=True)
    cfg = RunConfig(missing_ok=True, checkpoint="run.pt")
    assert cfg.resume and cfg.missing_ok
    with pytest.raises(ValueError, match="runs=0 must be at least 1"):
        RunConfig(runs=0)
