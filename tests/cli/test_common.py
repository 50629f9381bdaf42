import argparse
import os

import pytest

from revgnn.cli.common import add_output_arguments, check_outputs
from revgnn.config import Recipe


def args(**kw):
    return argparse.Namespace(**{"json": None, "markdown": None, **kw})


def test_outputs_are_checked_before_any_work(tmp_path):
    done = tmp_path / "done.json"
    done.write_text("{}")
    with pytest.raises(FileExistsError, match=r"--json .*done.json exists: pass --overwrite"):
        check_outputs(args(json=str(done)), Recipe())
    check_outputs(args(json=str(done)), Recipe().with_values({"run.overwrite": True}))
    with pytest.raises(ValueError, match="--markdown writes a leaderboard table: it needs --runs"):
        check_outputs(args(markdown=str(tmp_path / "t.md")), Recipe())
    log = tmp_path / "log.jsonl"
    log.write_text("")
    with pytest.raises(FileExistsError, match="--log"):
        check_outputs(args(), Recipe().with_values({"run.log_path": str(log)}))
    # A resumed run continues its log.
    resumed = {"run.log_path": str(log), "run.resume": True, "run.checkpoint": "c.pt"}
    check_outputs(args(), Recipe().with_values(resumed))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(PermissionError, match="not writable"):
        check_outputs(args(json=str(locked / "r.json")), Recipe())


def test_output_flags_start_at_home_even_quoted(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    parser = argparse.ArgumentParser()
    add_output_arguments(parser)
    parsed = parser.parse_args(["--json", "~/m.json", "--markdown", "~/t.md"])
    assert (parsed.json, parsed.markdown) == (f"{tmp_path}/m.json", f"{tmp_path}/t.md")
