"""The package's shape: tests mirror it file for file, modules stay small, private names stay
private, and nothing points outside the repository."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "revgnn"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_its_test_file_and_stays_under_600_lines(module):
    rel = module.relative_to(PACKAGE)
    test = ROOT / "tests" / rel.parent / f"test_{rel.name}"
    assert test.is_file(), f"{rel} has no {test.relative_to(ROOT)}"
    assert len(module.read_text().splitlines()) <= 600, f"{rel} is longer than 600 lines"


def test_no_module_imports_another_modules_private_name():
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "ogb_examples").glob("*.py"),
                 *(ROOT / "benchmarks").glob("*.py")]:  # fmt: skip
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("revgnn"):
                offenders += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert not offenders


def test_nothing_refers_to_files_outside_the_repository():
    design = "DESIGN"  # spelled in two parts so that this file does not match itself
    pattern = re.compile(design + r"(\.md| §)|\.\./shared/")
    files = [p for p in ROOT.rglob("*") if p.suffix in (".py", ".md", ".toml", ".sh")]
    found = [
        str(p.relative_to(ROOT))
        for p in files
        if ".venv" not in p.parts and pattern.search(p.read_text(errors="ignore"))
    ]
    assert not found
