"""Every command that README.md, docs/ and the examples' READMEs show runs.

The commands are extracted from the documents themselves (code blocks and inline code), so a
documented command can no longer break unnoticed. Each runs in a smoke mode:

* ``run``: commands on data the package carries or generates (the bundled Cora, the synthetic
  clouds) train for one epoch at small sizes, in this process;
* ``config``: commands on real datasets, which CI does not have, resolve their recipe with
  ``--print-config``: every flag is parsed, validated and checked against the model, the
  optimiser and the dataset that would use it;
* ``flags``: the profiling / planning commands and the benchmark scripts' commands (long
  measurements) must name flags their parser has.

The example scripts (``ogb_examples/``, ``deepgcn_examples/``) are ``revgnn train`` /
``revgnn deepgcn`` over a paper recipe and run in ``config`` mode.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("*_examples/README.md")),
    ROOT / "benchmarks" / "README.md",
]
COMMAND = re.compile(
    r"(?:^|\s|`)((?:revgnn (?:train|deepgcn|search|profile|plan)|python \S+\.py)\b[^`#]*)"
)
# Roots of data that the package does not carry (CI has none of them).
EXTERNAL = re.compile(r"--root\s|--dataset (?!cora\b)\S+|ogb_examples/|deepgcn_examples/")
OUTPUTS = ("--json", "--out", "--checkpoint", "--log", "--markdown", "--calibrate")
SMOKE = {
    "train": ["--epochs", "1", "--no-progress", "--no-compare"],
    "deepgcn": ["--epochs", "1", "--no-progress", "--num-clouds", "10", "--batch-size", "8"],
    "search": ["--eval-epochs", "1", "--no-progress"],
}
# A search lasts its warm-up and one decision per mixed edge (SGAS), or --darts-epochs.
SEARCH_LENGTH = {
    "sgas": ["--warmup", "1", "--decision-every", "1"],
    "darts": ["--darts-epochs", "1"],
}
SEARCH_CLOUDS = ["--num-clouds", "16", "--num-points", "64"]


def _documented() -> list[tuple[str, str]]:
    """(file:line, command) of every command in a code block, and of every inline one in a
    table row or a list item (the reproduction commands next to their figures)."""
    found = []
    for doc in DOCUMENTS:
        lines = doc.read_text().splitlines()
        fenced = False
        i = 0
        while i < len(lines):
            line, where = lines[i], f"{doc.relative_to(ROOT)}:{i + 1}"
            if line.lstrip().startswith("```"):
                fenced = not fenced
                i += 1
                continue
            block = fenced or line.startswith("    ")
            listed = line.lstrip().startswith(("|", "- "))
            while line.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
            if block or listed:
                for match in COMMAND.finditer(line):
                    cmd = match.group(1).split(" (")[0].replace("...", " ").strip()
                    inline = not block and f"`{cmd}" not in line.replace("`" + " ", "`")
                    placeholder = re.search(r"<\w+>\.py", cmd)  # "ogb_examples/<script>.py"
                    if "revgnn train: error" in line or placeholder or inline:
                        continue
                    if block or " --" in cmd:
                        found.append((where, " ".join(cmd.split())))
            i += 1
    return found


COMMANDS = _documented()


def test_the_documents_show_commands_of_every_kind():
    kinds = {cmd.split()[1] if cmd.startswith("revgnn") else "script" for _, cmd in COMMANDS}
    assert {"train", "deepgcn", "search", "profile", "plan", "script"} <= kinds, kinds


def _argv(cmd: str, tmp_path: Path) -> list[str]:
    argv = shlex.split(cmd.split(" > ")[0].replace("<", "").replace(">", ""))
    for i, arg in enumerate(argv[:-1]):
        if arg in OUTPUTS:  # outputs go to the test's folder
            argv[i + 1] = str(tmp_path / Path(argv[i + 1]).name)
        if arg == "--config" and argv[i + 1].endswith(".yaml"):  # the user's own recipe file
            Path(argv[i + 1]).write_text("model: {num_layers: 2}\n")
    return argv


def _flags(argv: list[str]) -> list[str]:
    return [a.split("=")[0] for a in argv if a.startswith("--")]


def _run(program: str, argv: list[str]) -> tuple[int, str]:
    """``revgnn SUB ARGV`` or ``python SCRIPT ARGV`` in this process: exit status, stdout."""
    out = io.StringIO()
    saved = sys.argv, list(sys.path)
    try:
        with contextlib.redirect_stdout(out):
            if program.startswith("revgnn "):
                from revgnn.cli import main

                return main([program.split()[1], *argv]), out.getvalue()
            script = ROOT / program
            # The script folders are not packages: their helpers (example_cli, common) are
            # top-level modules of the same name in several folders.
            folders = {ROOT / d for d in ("ogb_examples", "deepgcn_examples", "benchmarks")}
            for name, module in list(sys.modules.items()):
                if Path(getattr(module, "__file__", None) or "/").parent in folders:
                    del sys.modules[name]
            sys.argv = [str(script), *argv]
            sys.path.insert(0, str(script.parent))
            runpy.run_path(str(script), run_name="__main__")
        return 0, out.getvalue()
    except SystemExit as e:
        return (e.code if isinstance(e.code, int) else 0 if e.code is None else 1), out.getvalue()
    finally:
        sys.argv, sys.path[:] = saved


@functools.cache
def _help(program: str) -> str:
    code, text = _run(program, ["--help"])
    assert code == 0, f"{program} --help failed"
    return text


@pytest.mark.parametrize(("where", "cmd"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_documented_command_runs(where, cmd, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = _argv(cmd, tmp_path)
    assert argv[0] != "revgnn" or not [
        a for a in argv if re.fullmatch(r"[A-Z]+", a) and a != "DATA"
    ]
    program = " ".join(argv[:2]) if argv[0] == "revgnn" else argv[1]
    examples = program.split("/")[0] in ("ogb_examples", "deepgcn_examples")
    if (argv[0] == "python" and not examples) or argv[1] in ("profile", "plan"):
        text = _help(program)
        missing = [f for f in _flags(argv) if not re.search(rf"{re.escape(f)}\b", text)]
        assert not missing, f"{where}: {cmd}: no such flags {missing}"
        return
    sub = "train" if examples else argv[1]
    if EXTERNAL.search(cmd) or "--resume" in argv:
        extra = ["--print-config"]
    else:
        extra = SMOKE[sub]
        if sub == "search":
            extra = extra + SEARCH_LENGTH["darts" if "darts" in argv else "sgas"]
            extra += SEARCH_CLOUDS if "--dataset" not in argv else []
    rc, _ = _run(program, [*argv[2:], *extra])
    out = capsys.readouterr()
    assert rc == 0, f"{where}: {cmd}\n{out.err[-2000:]}"
