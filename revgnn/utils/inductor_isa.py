r"""Inductor's CPU vector-ISA probe, remembered across processes.

The first CPU compilation of every process makes inductor check, for each SIMD instruction set
the CPU reports (AVX2, AVX-512, ...), that the C++ compiler builds code for it and that the
library loads: a Python subprocess per check, about 0.8 s in all on the project's 2-core
machine, every run, although the compiled kernels themselves come from inductor's on-disk
cache: after inductor's own import (about 1 s), the largest part of a warm-cache compilation.

:func:`skip_known_probes` reads what an earlier process on this machine found (a record in
inductor's cache folder, keyed by the torch version, the C++ compiler and its version, and the
CPU's instruction sets): where every listed instruction set passed, it sets inductor's own
switch for that case, ``torch._inductor.config.cpp.vec_isa_ok = True`` ("usable without
testing"), which selects exactly the instruction set that the checks would. Where one failed,
or nothing is recorded, inductor checks as usual, and :func:`remember` records the outcome once
that process has compiled. A user's ``TORCHINDUCTOR_VEC_ISA_OK`` or setting of ``vec_isa_ok``
is left as it is. Anything unexpected in inductor's internals (another torch version) turns
both into no-ops: inductor then checks every process, as it does without this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from typing import Any

import torch

__all__ = ["record_path", "remember", "skip_known_probes"]

#: Whether this process has already consulted (and, if needed, written) the record.
_DONE = {"skip": False, "remember": False}


def _inductor() -> tuple[Any, Any] | None:
    """Inductor's ISA module and config, or ``None`` where the probe does not apply (it runs
    on x86 Linux only) or inductor's layout is not the one this module knows."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        return None
    try:
        from torch._inductor import config, cpu_vec_isa

        cpu_vec_isa.valid_vec_isa_list.cache_info  # noqa: B018  (present: a functools cache)
        cpu_vec_isa.supported_vec_isa_list  # noqa: B018
        config.cpp.vec_isa_ok  # noqa: B018
    except (ImportError, AttributeError):
        return None
    return cpu_vec_isa, config


def record_path() -> str | None:
    """The record of this machine's probe, or ``None`` where it does not apply."""
    if _inductor() is None:
        return None
    try:
        from torch._inductor.cpp_builder import get_compiler_version_info, get_cpp_compiler
        from torch._inductor.cpu_vec_isa import x86_isa_checker
        from torch._inductor.runtime.cache_dir_utils import cache_dir

        compiler = get_cpp_compiler()
        key = [torch.__version__, compiler, get_compiler_version_info(compiler), x86_isa_checker()]
        folder = cache_dir()
    except Exception:  # a changed internal or no compiler: no record
        return None
    digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]
    return os.path.join(folder, "revgnn_vec_isa", f"{digest}.json")


def _listed(cpu_vec_isa: Any) -> list[str]:
    """The instruction sets that the CPU reports and inductor knows, before any check."""
    flags = cpu_vec_isa.x86_isa_checker()
    return [
        str(isa)
        for isa in cpu_vec_isa.supported_vec_isa_list
        if all(flag in flags for flag in str(isa).split())
    ]


def _user_decided(config: Any) -> bool:
    return config.cpp.vec_isa_ok is not None or "TORCHINDUCTOR_VEC_ISA_OK" in os.environ


def skip_known_probes() -> bool:
    """Before a process's first compilation: switch inductor's checks off where this
    machine's record says every listed instruction set passes. Returns whether it did."""
    if _DONE["skip"]:
        return False
    _DONE["skip"] = True
    parts, path = _inductor(), record_path()
    if parts is None or path is None or _user_decided(parts[1]):
        return False
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return False
    listed = _listed(parts[0])
    if not isinstance(record, dict) or record.get("valid") != listed or not listed:
        return False
    parts[1].cpp.vec_isa_ok = True
    return True


def remember() -> bool:
    """After a compilation: record what inductor's checks found, once they have run in this
    process (a CUDA kernel does not run them; a later CPU one does). Returns whether a record
    was written."""
    if _DONE["remember"]:
        return False
    parts = _inductor()
    if parts is not None and parts[0].valid_vec_isa_list.cache_info().currsize == 0:
        return False  # not checked yet in this process (no CPU kernel so far): ask again
    _DONE["remember"] = True
    path = record_path()
    if parts is None or path is None or _user_decided(parts[1]):
        return False
    cpu_vec_isa = parts[0]
    record = {
        "valid": [str(isa) for isa in cpu_vec_isa.valid_vec_isa_list()],
        "listed": _listed(cpu_vec_isa),
        "torch": torch.__version__,
    }
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.replace(tmp, path)  # atomic: a concurrent run reads the old record or this one
    except OSError:
        return False
    return True
