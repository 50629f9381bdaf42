r"""Compiled kernels: plain-torch functions run through ``torch.compile``, eager as the fallback.

A kernel is written once, as a function of tensors and Python constants in plain torch; on
first use :class:`CompiledKernel` compiles it with inductor (C++ with OpenMP on CPU, Triton on
CUDA) with dynamic shapes, so that graphs whose node and edge counts change every batch (random
partitions, mini-batches) reuse one compiled kernel instead of compiling per size. The eager
function stays the reference and runs instead when

* compilation is switched off: :func:`set_compile` (``False``), the environment variable
  ``REVGNN_COMPILE=0``, or ``--no-compile`` on the command line;
* the inputs are not supported: a dtype other than fp32 / fp64, autocast on, a device other
  than CPU / CUDA, no C++ compiler on a CPU-only machine (:func:`compile_supported`);
* compiling fails: the failure is reported once (a warning naming the kernel and the error) and
  that kernel runs eagerly from then on.

A kernel compiles one graph per variant of its inputs (with or without gradients, the dtype,
the device, which optional tensors are given, its option flags). A long-lived process that
trains many configurations (a notebook, a sweep, a test session) meets more variants than
dynamo's process-wide limit of 8 graphs a function, past which dynamo runs the function
eagerly for every new variant, with one log line; each kernel therefore compiles with its own
limit, :data:`RECOMPILE_LIMIT`, where ``torch.compile`` takes one.

Every compilation is counted with its wall time (:func:`compile_stats`); inductor caches
compiled code on disk (``TORCHINDUCTOR_CACHE_DIR``, by default under the system's temporary
folder), so a second run of the same model compiles much faster, and
:mod:`~revgnn.utils.inductor_isa` keeps the outcome of inductor's per-process check of the
CPU's instruction sets there too.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from revgnn.utils import inductor_isa

__all__ = [
    "RECOMPILE_LIMIT",
    "CompileStats",
    "CompiledKernel",
    "compile_enabled",
    "compile_stats",
    "compile_supported",
    "kernels",
    "set_compile",
]

_ENABLED = [os.environ.get("REVGNN_COMPILE", "1") != "0"]
_DTYPES = (torch.float32, torch.float64)

RECOMPILE_LIMIT = 64
"""Graphs one kernel may compile (its input variants) before dynamo runs it eagerly."""


@dataclass
class CompileStats:
    """How many kernels were compiled (one per kernel and input variant; a recompilation for
    a new size would add one) and the wall time their first calls took."""

    compilations: int = 0
    seconds: float = 0.0
    fallbacks: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"compilations": self.compilations, "compile_seconds": round(self.seconds, 3)}


_STATS = CompileStats()


def set_compile(enabled: bool) -> None:
    """Switch the compiled kernels on (the default) or off for the whole process; off runs
    every kernel's eager reference."""
    _ENABLED[0] = bool(enabled)


def compile_enabled() -> bool:
    return _ENABLED[0]


def compile_stats() -> CompileStats:
    """The process's compilation count and time so far (see :class:`CompileStats`)."""
    return _STATS


@functools.cache
def _has_cpp_compiler() -> bool:
    return any(shutil.which(c) for c in ("g++", "c++", "clang++"))


def compile_supported(*tensors: Tensor | None) -> bool:
    """Whether a compiled kernel may run on these tensors: compilation on, fp32 / fp64 inputs
    on CPU (with a C++ compiler) or CUDA, autocast off, and not inside a compiled region."""
    if not _ENABLED[0] or torch.compiler.is_compiling():
        return False
    for t in tensors:
        if t is None or not t.is_floating_point():
            continue
        if t.dtype not in _DTYPES or t.device.type not in ("cpu", "cuda"):
            return False
        if t.device.type == "cpu" and not _has_cpp_compiler():
            return False
        if torch.is_autocast_enabled(t.device.type):
            return False
    return True


def kernels(n: int) -> str:
    """``"1 kernel"``, ``"3 kernels"``: a count of compilations for messages."""
    return f"{n} kernel{'' if n == 1 else 's'}"


@functools.cache
def _dynamo_counters() -> Any:
    # Imported on first use (dynamo's import is part of compiling), then one lookup a call.
    from torch._dynamo.utils import counters

    return counters


@functools.cache
def _compile_options() -> dict[str, Any]:
    # A per-region limit is a recent torch.compile argument; older releases only have the
    # process-wide one, which a library should not raise for its users' own code.
    if "recompile_limit" in inspect.signature(torch.compile).parameters:
        return {"recompile_limit": RECOMPILE_LIMIT}
    return {}


def _graph_count() -> int:
    return int(_dynamo_counters()["stats"]["unique_graphs"])


class CompiledKernel:
    """``fn`` compiled on first call with dynamic shapes (see the module docstring).

    Args:
        fn (Callable): The kernel in plain torch: tensors (or ``None``) and Python constants
            in, tensors out; no autograd inside. Where no argument requires a gradient it
            runs under ``torch.no_grad`` whatever the caller's grad mode, which is part of
            dynamo's guards: one compilation serves callers with and without it.
        name (str, optional): The name reported in warnings. (default: ``fn.__qualname__``)
        scatters (bool, optional): Whether ``fn`` adds rows into shared ones (``index_add``,
            ``scatter_reduce``). On CPU such a kernel is compiled for one thread: inductor's
            C++ makes every such addition an atomic operation when a loop runs on several
            threads, and a GENConv aggregation's kernels then took 8x the time on two threads
            that they take on one (2,000 nodes, 40,000 edges, 32 channels). The kernels
            without scatters keep torch's threads. (default: ``False``)
    """

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, *, scatters: bool = False
    ) -> None:
        self.fn = fn
        self.name = name or fn.__qualname__
        self.scatters = scatters
        self._compiled: Callable[..., Any] | None = None
        self.failed = False

    def __repr__(self) -> str:
        state = "eager (compilation failed)" if self.failed else "compiled on first call"
        return f"CompiledKernel({self.name}, {state})"

    def __call__(self, *args: Any) -> Any:
        if self.failed:
            return self.fn(*args)
        # From before torch.compile: its first use imports dynamo and inductor (1 to 2 s on
        # the project's CPU), a cost of compiling that the run pays once.
        start = time.perf_counter()
        if self._compiled is None:
            inductor_isa.skip_known_probes()
            options = {"options": {"cpp.threads": 1}} if self.scatters else {}
            self._compiled = torch.compile(self.fn, dynamic=True, **_compile_options(), **options)
        before = _graph_count()
        try:
            out = self._run(args)
        except Exception as err:  # any compiler failure: eager from now on
            return self._fall_back(err, args)
        added = _graph_count() - before
        if added:
            _STATS.compilations += added
            _STATS.seconds += time.perf_counter() - start
            inductor_isa.remember()
        return out

    def _run(self, args: tuple[Any, ...]) -> Any:
        # Grad mode is set directly, not by a context manager: next to a compiled call's
        # 35-65 us, this wrapper's own microseconds count (the main job makes 258 calls an
        # epoch).
        off = torch.is_grad_enabled() and not any(
            isinstance(a, Tensor) and a.requires_grad for a in args
        )
        if off:
            torch._C._set_grad_enabled(False)
        try:
            return self._compiled(*args)
        finally:
            if off:
                torch._C._set_grad_enabled(True)

    def _fall_back(self, err: Exception, args: tuple[Any, ...]) -> Any:
        out = self.fn(*args)  # an error of the inputs raises here, as it would eagerly
        self.failed = True
        _STATS.fallbacks += 1
        warnings.warn(
            f"compiling {self.name} failed ({type(err).__name__}: {str(err)[:300]}); it "
            f"runs eagerly from now on (REVGNN_COMPILE=0 skips compilation altogether)",
            RuntimeWarning,
            stacklevel=3,
        )
        return out
