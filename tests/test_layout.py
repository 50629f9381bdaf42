"""The package's shape: tests mirror it file for file, modules and functions stay small, the
subpackages form layers without cycles, private names stay private, and nothing points
outside the repository."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "revgnn"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))


#: The subpackages, lowest layer first: a subpackage imports only those before it.
LAYERS = (
    "utils", "solvers", "nn", "models", "config", "datasets", "memory", "training", "nas",
    "profiling", "cli",
)  # fmt: skip


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_its_test_file_and_stays_under_450_lines(module):
    rel = module.relative_to(PACKAGE)
    test = ROOT / "tests" / rel.parent / f"test_{rel.name}"
    assert test.is_file(), f"{rel} has no {test.relative_to(ROOT)}"
    assert len(module.read_text().splitlines()) <= 450, f"{rel} is longer than 450 lines"


def test_no_function_is_longer_than_60_lines():
    long = []
    for path in PACKAGE.rglob("*.py"):
        rel = str(path.relative_to(PACKAGE))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                if not body:
                    continue
                length = body[-1].end_lineno - body[0].lineno + 1
                if length > 60:
                    long.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    assert not long


def test_subpackages_import_only_lower_layers():
    wrong = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        own = LAYERS.index(parts[0])
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("revgnn."):
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.startswith("revgnn.")]
            for name in names:
                target = name.split(".")[1]
                if target in LAYERS and LAYERS.index(target) > own:
                    wrong.append(f"{'/'.join(parts)} imports {name}")
    assert not wrong


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
