"""A user's mistake is one line on stderr and exit status 2, never a traceback."""

import subprocess
import sys
import warnings

import pytest
import torch
from torch_geometric.data import Data

from revgnn.cli import main
from revgnn.cli.errors import one_line_warnings
from tests.helpers import reaped, signal_when

TINY = ["--epochs", "1", "--layers", "2", "--hidden", "16", "--no-progress"]


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("revgnn train: error: ")
    return err


def test_checkpoint_mistakes(tmp_path, capsys):
    ckpt = str(tmp_path / "run.pt")
    assert main(["train", *TINY, "--checkpoint", ckpt]) == 0
    capsys.readouterr()
    # Another --hidden: one line naming the first differences and the checkpoint's model.
    wider = ["--epochs", "1", "--layers", "2", "--hidden", "32", "--no-progress"]
    assert main(["train", *wider, "--checkpoint", ckpt, "--resume"]) == 2
    err = one_line(capsys)
    assert "was written for a different model: " in err and "has shape [16" in err
    # Another depth, which changes settings derived from the model too: the model is named,
    # both of them, before any derived setting.
    deeper = ["--epochs", "1", "--layers", "16", "--hidden", "16", "--no-progress"]
    assert main(["train", *deeper, "--checkpoint", ckpt, "--resume"]) == 2
    err = one_line(capsys)
    assert "was written for a different model: " in err and "--weight-decay-on" not in err
    assert "num_layers=2," in err and "this run's RevGNN(1433, 16, 7, num_layers=16," in err
    # A run that does not resume may not replace it.
    assert main(["train", *TINY, "--checkpoint", ckpt]) == 2
    assert "exists and this run does not resume from it: pass --resume" in one_line(capsys)
    # Corrupted and foreign files.
    data = (tmp_path / "run.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 3])
    (tmp_path / "notes.pt").write_text("not a checkpoint\n")
    torch.save({"weights": torch.ones(2)}, tmp_path / "other.pt")
    for name, why in (("cut", "truncated or corrupted"), ("notes", "torch.save did not write it"),
                      ("other", "lacks the format marker")):  # fmt: skip
        assert main(["train", *TINY, "--checkpoint", str(tmp_path / f"{name}.pt"), "--resume"]) == 2
        err = one_line(capsys)
        assert why in err and "weights_only" not in err, err
    assert main(["train", *TINY, "--checkpoint", str(tmp_path / "typo.pt"), "--resume"]) == 2
    assert "typo.pt does not exist" in one_line(capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "-1"], "lr=-1.0 must be > 0"),
        (["--dropout", "1.5"], "dropout=1.5 must lie in [0, 1)"),
        (["--model", "deeper-gcn", "--conv", "gcn", "--input-dropout", "0.8", "--groups", "4"],
         "--groups is not used by --model deeper-gcn (only --model deq-gnn, revgnn, wt-revgnn"),
        (["--conv", "gen", "--aggr", "max", "--t", "0.5"],
         "--t is not used by --aggr max (it applies to softmax, softmax_sg, softmax_sum)"),
        (["--conv", "gcn", "--heads", "2"],
         "--heads is not used by --conv gcn (its options: normalize)"),
        (["--momentum", "0.5"], "--momentum is not used by --optimizer adam"),
        (["--parts", "4"], "--parts is not used by --partition full"),
        (["--dataset", "photo"], "dataset 'photo' needs root= (--root)"),
        (["--dataset", "photo", "--root", "/nonexistent"], "photo: /nonexistent/amazon"),
    ],
)  # fmt: skip
def test_wrong_values_and_unused_flags(argv, message, capsys):
    assert main(["train", *TINY, *argv]) == 2
    assert message in one_line(capsys)


def test_a_warning_is_one_line_naming_the_command(tmp_path):
    graph = tmp_path / "g.pt"
    edges = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 0], [1, 0, 2, 1, 3, 2, 0, 3]])
    torch.save(Data(edge_index=edges, y=torch.tensor([0, 1, 0, 1]), edge_weight=torch.ones(8)),
               graph)  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "revgnn", "train", "--dataset", str(graph), "--print-config"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"revgnn train: warning: {graph}: edge_weight not read")
    with one_line_warnings("revgnn x"):
        said = warnings.formatwarning("two\n lines", RuntimeWarning, "f.py", 3)
    assert said == "revgnn x: warning: RuntimeWarning: two lines\n"
    assert "f.py:3: RuntimeWarning" in warnings.formatwarning("w", RuntimeWarning, "f.py", 3)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--layers", "0"], "num_layers=0 must be at least 1 (depth: the number of blocks); "
                            "on the command line num_layers is --layers"),
        (["--hidden", "63"], "must divide hidden_channels=63; on the command line "
                             "hidden_channels is --hidden"),
        # num_nodes is the graph's count, not the --nodes setting: not named as a flag
        (["--partition", "random", "--parts", "3000"], "num_parts=3000 must lie in [1, "
         "num_nodes=2708]: every part holds a node; on the command line num_parts is --parts"),
    ],
)  # fmt: skip
def test_an_error_naming_a_setting_by_its_field_names_its_flag(argv, said, capsys):
    # The library's errors name its arguments (num_layers); the command line's user typed a
    # flag (--layers), and is told which.
    assert main(["train", "--epochs", "1", *argv]) == 2
    err = one_line(capsys).rstrip()
    assert said in err and err.endswith(said.rsplit(";", 1)[-1]), err


@pytest.mark.parametrize("module", ["revgnn", "revgnn.cli"])
def test_argparse_errors_are_one_line_too(module):
    proc = subprocess.run(
        [sys.executable, "-m", module, "train", "--layers", "many"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "argument --layers: 'many' is not an integer (see revgnn train --help)" in proc.stderr


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["train", "--layerz", "3"], "revgnn train: error: unrecognized arguments: --layerz 3; "
         "--layerz: did you mean --layers? (see revgnn train --help)"),
        (["train", "--dropot=0.2", "--hiden", "8"], "unrecognized arguments: --dropot=0.2 "
         "--hiden 8; --dropot: did you mean --dropout?; --hiden: did you mean --hidden?"),
        (["plan", "--zzz"], "revgnn plan: error: unrecognized arguments: --zzz (see revgnn plan "
         "--help)"),
        # A setting's field name (PyG's and OGB's example flags) or underscores for dashes.
        (["train", "--num_parts", "4"], "--num_parts: did you mean --parts?"),
        (["train", "--num-layers=4"], "--num-layers: did you mean --layers?"),
        (["train", "--input_dropout", "0.1"], "--input_dropout: did you mean --input-dropout?"),
        (["deepgcn", "--hidden_channels", "8"], "--hidden_channels: did you mean --channels?"),
        # A prefix of a flag is not taken for it (argparse's abbreviations are off).
        (["train", "--layer", "112"], "unrecognized arguments: --layer 112; --layer: did you "
         "mean --layers?"),
        (["train", "--epoch=3"], "--epoch: did you mean --epochs?"),
    ],
)  # fmt: skip
def test_an_unknown_flag_is_named_by_its_command_with_the_closest_flag(argv, said, capsys):
    from revgnn.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_an_error_raised_outside_revgnn_is_a_bug_with_its_traceback(capsys):
    from revgnn.cli.errors import report_user_errors

    def bug() -> int:
        return len(5)  # TypeError raised by Python, not by revgnn

    with pytest.raises(TypeError, match="has no len"):
        report_user_errors("revgnn train", bug)

    def mistake() -> int:
        from revgnn.config import ModelConfig

        ModelConfig(num_layers=0)
        return 0

    assert report_user_errors("revgnn train", mistake) == 2
    assert "revgnn train: error: num_layers=0 must be at least 1" in capsys.readouterr().err


def test_ctrl_c_is_one_line_and_exit_status_130(capsys):
    from revgnn.cli.errors import INTERRUPTED, report_user_errors

    def pressed() -> int:
        raise KeyboardInterrupt

    assert report_user_errors("revgnn plan", pressed) == INTERRUPTED == 130
    assert capsys.readouterr().err == "\nrevgnn plan: interrupted\n"


@pytest.mark.parametrize(
    ("signum", "status", "said"),
    [(2, 130, "interrupted"), (15, 143, "stopped by SIGTERM")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_or_sigterm_in_revgnn_train_says_how_to_resume(tmp_path, signum, status, said):
    """Ctrl-C, and the SIGTERM of ``kill``, ``timeout`` or a batch scheduler: one line saying
    what the checkpoint holds, and 128 + the signal's number as the exit status."""
    import signal

    ckpt = tmp_path / "run.pt"
    args = [
        "train",
        "--layers",
        "2",
        "--hidden",
        "16",
        "--epochs",
        "100000",
        "--patience",
        "none",
        "--checkpoint-every",
        "1",
        "--checkpoint",
        str(ckpt),
        "--no-progress",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "revgnn.cli", *args], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
        # A child of a background job inherits an ignored SIGINT; a user's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    with reaped(proc):
        signal_when(proc, ckpt.exists, signum, timeout=120)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    assert err.strip().startswith(f"revgnn train: {said} in epoch ")
    assert f"{ckpt} holds epoch " in err and "add --resume to the same command" in err


def test_revgnn_version_is_the_packages(capsys):
    import re
    from pathlib import Path

    import revgnn
    from revgnn.cli import main

    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"$', pyproject, re.M).group(1)  # no tomllib in 3.10
    assert revgnn.__version__ == declared
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"revgnn {declared}\n"  # the installed metadata's
