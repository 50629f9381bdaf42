import functools
import json
import os
import platform
import subprocess
import sys

import pytest

from revgnn.utils import inductor_isa

x86 = pytest.mark.skipif(
    inductor_isa.record_path() is None, reason="inductor probes instruction sets on x86 Linux"
)


class _ISA:
    def __init__(self, name: str) -> None:
        self.name = name

    def __str__(self) -> str:
        return self.name


@pytest.fixture
def fake_inductor(monkeypatch, tmp_path):
    """Inductor's ISA check with a CPU that reports avx2 and avx512, checked as ``passed``."""
    from torch._inductor import config, cpu_vec_isa

    passed = ["avx512", "avx2"]
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TORCHINDUCTOR_VEC_ISA_OK", raising=False)
    monkeypatch.setattr(cpu_vec_isa, "x86_isa_checker", lambda: ["avx2", "avx512"])
    monkeypatch.setattr(
        cpu_vec_isa, "supported_vec_isa_list", [_ISA(n) for n in ("amx", "avx512", "avx2")]
    )
    monkeypatch.setattr(
        cpu_vec_isa, "valid_vec_isa_list", functools.cache(lambda: [_ISA(n) for n in passed])
    )
    monkeypatch.setattr(inductor_isa, "_DONE", {"skip": False, "remember": False})
    # Set and restored by hand: monkeypatch's undo deletes the key from torch's config proxy.
    before, config.cpp.vec_isa_ok = config.cpp.vec_isa_ok, None
    yield config, cpu_vec_isa, passed
    config.cpp.vec_isa_ok = before


def _again():
    inductor_isa._DONE.update(skip=False, remember=False)


@x86
def test_a_recorded_pass_of_every_listed_isa_skips_the_next_process_checks(fake_inductor):
    config, cpu_vec_isa, _ = fake_inductor
    assert not inductor_isa.skip_known_probes()  # nothing recorded yet
    assert config.cpp.vec_isa_ok is None
    assert not inductor_isa.remember()  # the checks did not run in this process yet
    cpu_vec_isa.valid_vec_isa_list()
    assert inductor_isa.remember()  # they did now: recorded, then once a process
    assert not inductor_isa.remember()
    with open(inductor_isa.record_path()) as f:
        assert json.load(f)["valid"] == ["avx512", "avx2"]
    _again()
    assert inductor_isa.skip_known_probes()
    assert config.cpp.vec_isa_ok is True
    assert not inductor_isa.skip_known_probes()  # once a process


@x86
def test_a_failed_check_a_broken_record_or_the_users_setting_keeps_the_checks(
    fake_inductor, monkeypatch
):
    config, cpu_vec_isa, passed = fake_inductor
    passed.remove("avx512")  # the compiler cannot build AVX-512 code
    cpu_vec_isa.valid_vec_isa_list()
    assert inductor_isa.remember()
    _again()
    assert not inductor_isa.skip_known_probes()
    assert config.cpp.vec_isa_ok is None

    with open(inductor_isa.record_path(), "w") as f:
        f.write("{not json")
    _again()
    assert not inductor_isa.skip_known_probes()
    assert config.cpp.vec_isa_ok is None

    monkeypatch.setenv("TORCHINDUCTOR_VEC_ISA_OK", "0")
    _again()
    assert not inductor_isa.remember()
    assert not inductor_isa.skip_known_probes()


@x86
def test_the_record_is_keyed_on_the_compiler_and_the_cpu(fake_inductor, monkeypatch):
    from torch._inductor import cpp_builder

    _, cpu_vec_isa, _ = fake_inductor
    path = inductor_isa.record_path()
    assert path.startswith(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    monkeypatch.setattr(cpu_vec_isa, "x86_isa_checker", lambda: ["avx2"])
    assert inductor_isa.record_path() != path
    monkeypatch.setattr(cpu_vec_isa, "x86_isa_checker", lambda: ["avx2", "avx512"])
    monkeypatch.setattr(cpp_builder, "get_compiler_version_info", lambda c: "g++ (other) 99")
    assert inductor_isa.record_path() != path


def test_off_x86_linux_nothing_is_recorded_or_skipped(monkeypatch):
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(inductor_isa, "_DONE", {"skip": False, "remember": False})
    assert inductor_isa.record_path() is None
    assert not inductor_isa.skip_known_probes()
    assert not inductor_isa.remember()


_CHECKED_THEN_SWITCHED = """
import json, sys
from torch._inductor import cpu_vec_isa
from revgnn.utils import inductor_isa
inductor_isa.record_path = lambda: sys.argv[1]
checked = [str(isa) for isa in cpu_vec_isa.valid_vec_isa_list()]  # inductor's real checks
recorded = inductor_isa.remember()
skipped = inductor_isa.skip_known_probes()
# What the next process gets with the switch on (the checks are cached per process: uncached).
unchecked = [str(isa) for isa in cpu_vec_isa.valid_vec_isa_list.__wrapped__()]
print(json.dumps({"checked": checked, "recorded": recorded, "skipped": skipped,
                  "listed": inductor_isa._listed(cpu_vec_isa), "unchecked": unchecked}))
"""


@x86
def test_the_switch_gives_the_isas_that_inductors_checks_give(tmp_path):
    # A fresh process: in this one the checks may already be cached with the switch on.
    env = {k: v for k, v in os.environ.items() if k != "TORCHINDUCTOR_VEC_ISA_OK"}
    out = subprocess.run(
        [sys.executable, "-c", _CHECKED_THEN_SWITCHED, str(tmp_path / "record.json")],
        env=env, capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["recorded"]
    assert got["skipped"] == (got["checked"] == got["listed"])
    if got["skipped"]:
        assert got["unchecked"] == got["checked"]
