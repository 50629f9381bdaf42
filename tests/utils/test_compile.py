import inspect
import time
import warnings

import pytest
import torch

from revgnn.utils.compile import (
    RECOMPILE_LIMIT,
    CompiledKernel,
    compile_stats,
    compile_supported,
    set_compile,
)


def test_supported_inputs(compiled):
    assert compile_supported(torch.zeros(2), None, torch.zeros(2, dtype=torch.long))
    assert not compile_supported(torch.zeros(2, dtype=torch.bfloat16))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not compile_supported(torch.zeros(2))
    set_compile(False)
    assert not compile_supported(torch.zeros(2))


def test_compiles_once_and_matches(compiled):
    kernel = CompiledKernel(lambda a, b: torch.exp(a) * b + 1.0, name="k")
    before = compile_stats().compilations
    a, b = torch.randn(7, 3), torch.randn(7, 3)
    torch.testing.assert_close(kernel(a, b), torch.exp(a) * b + 1.0)
    assert compile_stats().compilations > before
    after = compile_stats().compilations
    kernel(torch.randn(11, 3), torch.randn(11, 3))
    kernel(torch.randn(13, 5), torch.randn(13, 5))
    assert compile_stats().compilations - after <= 1  # one dynamic recompilation at most


def _scatter_sum(values, index, n: int):
    return values.new_zeros((n, values.size(1))).index_add(0, index, values)


def test_a_scattering_kernel_gives_eagers_bits_on_several_threads(compiled):
    # Compiled for two threads, inductor's loop adds with atomic operations in whatever
    # order the threads meet: other bits on every call (5e-3 apart here), 8x slower, and a
    # reversible block's recomputation would not rebuild its forward pass.
    g = torch.Generator().manual_seed(0)
    values = torch.randn(200_000, 2, generator=g)
    index = torch.randint(0, 3, (200_000,), generator=g)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        kernel = CompiledKernel(_scatter_sum, scatters=True)
        outs = [kernel(values, index, 3) for _ in range(3)]
    finally:
        torch.set_num_threads(threads)
    ref = _scatter_sum(values, index, 3)
    assert all(torch.equal(out, ref) for out in outs)


def test_compile_seconds_count_torch_compiles_own_setup(compiled, monkeypatch):
    # torch.compile's first use imports dynamo and inductor: seconds the run pays to compile.
    real = torch.compile

    def slow_setup(fn, **kwargs):
        time.sleep(0.3)
        return real(fn, **kwargs)

    monkeypatch.setattr(torch, "compile", slow_setup)
    kernel = CompiledKernel(lambda a: a * 3 - 1, name="setup")
    stats = compile_stats()
    compilations, seconds = stats.compilations, stats.seconds
    torch.testing.assert_close(kernel(torch.ones(5)), torch.full((5,), 2.0))
    assert stats.compilations > compilations
    assert stats.seconds - seconds >= 0.3


def test_failure_falls_back_to_eager_with_a_warning(compiled, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler")

    kernel = CompiledKernel(lambda a: a * 2, name="double")
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: broken)
    with pytest.warns(RuntimeWarning, match="compiling double failed"):
        out = kernel(torch.ones(3))
    torch.testing.assert_close(out, torch.full((3,), 2.0))
    assert kernel.failed and "eager" in repr(kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel(torch.ones(3))  # no second warning


def test_input_errors_are_raised_as_eagerly(compiled):
    kernel = CompiledKernel(lambda a, i: a.index_select(0, i), name="gather")
    with torch.enable_grad():
        with pytest.raises((IndexError, RuntimeError)):
            kernel(torch.ones(3), torch.tensor([5]))
        assert torch.is_grad_enabled()  # restored on the way out of a failed call too


def test_one_compilation_serves_callers_with_and_without_grad_mode(compiled):
    # Grad mode is part of dynamo's guards: kernels that take no gradient run without it.
    kernel = CompiledKernel(lambda a: a * a + 2.0, name="square")
    stats = compile_stats()
    a = torch.randn(6, 3)
    with torch.no_grad():
        torch.testing.assert_close(kernel(a), a * a + 2.0)
    compilations = stats.compilations
    with torch.enable_grad():
        out = kernel(a)
        assert torch.is_grad_enabled()  # the caller's mode is back
    torch.testing.assert_close(out, a * a + 2.0)
    assert not out.requires_grad
    assert stats.compilations == compilations


@pytest.mark.skipif(
    "recompile_limit" not in inspect.signature(torch.compile).parameters,
    reason="this torch.compile has no per-region recompile limit",
)
def test_a_kernel_keeps_compiling_past_dynamos_process_wide_limit(compiled):
    # A sweep in one process meets more variants of a kernel than dynamo's limit of 8 graphs
    # a function, past which dynamo would run every new variant eagerly, compiling nothing.
    def shifted(a, mode):
        return a.relu() + float(mode[1:])

    kernel = CompiledKernel(shifted)
    a = torch.randn(5, 3)
    variants = 2 * torch._dynamo.config.recompile_limit
    assert variants <= RECOMPILE_LIMIT
    for i in range(variants):
        before = compile_stats().compilations
        torch.testing.assert_close(kernel(a, f"m{i}"), a.relu() + i)
        assert compile_stats().compilations == before + 1, f"variant {i} was not compiled"
