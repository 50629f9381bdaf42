import pytest
import torch

from revgnn.memory.cuda_workspace import (
    HOPPER,
    clear_workspaces,
    cublas_workspace_bytes,
    cublaslt_workspace_bytes,
    step_workspace_bytes,
)

MiB = 1 << 20


def test_default_sizes_follow_pytorchs_choice_per_architecture():
    assert cublas_workspace_bytes(HOPPER, {}) == 32 * MiB
    assert cublas_workspace_bytes((8, 0), {}) == 4096 * 1024 * 2 + 16 * 1024 * 8
    assert cublas_workspace_bytes((10, 0), {}) == 4096 * 1024 * 2 + 16 * 1024 * 8
    assert cublaslt_workspace_bytes(HOPPER, {}) == MiB


def test_environment_overrides_are_read_as_pytorch_reads_them():
    # CUBLAS_WORKSPACE_CONFIG: :SIZE:COUNT pairs in KiB, summed; unparsable means the default.
    assert cublas_workspace_bytes(HOPPER, {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"}) == 32 * MiB
    assert cublas_workspace_bytes((8, 6), {"CUBLAS_WORKSPACE_CONFIG": ":16:8"}) == 128 * 1024
    assert cublas_workspace_bytes(HOPPER, {"CUBLAS_WORKSPACE_CONFIG": "big"}) == 32 * MiB
    # cuBLASLt: KiB, capped at the cuBLAS workspace, nothing of its own when unified.
    assert cublaslt_workspace_bytes(HOPPER, {"CUBLASLT_WORKSPACE_SIZE": "4096"}) == 4 * MiB
    small = {"CUBLAS_WORKSPACE_CONFIG": ":16:8", "CUBLASLT_WORKSPACE_SIZE": "4096"}
    assert cublaslt_workspace_bytes(HOPPER, small) == 128 * 1024
    assert cublaslt_workspace_bytes(HOPPER, {"CUBLASLT_WORKSPACE_SIZE": "x"}) == MiB
    assert cublaslt_workspace_bytes(HOPPER, {"TORCH_CUBLASLT_UNIFIED_WORKSPACE": "1"}) == 0


def test_a_step_makes_two_cublas_workspaces_and_one_cublaslt_workspace(monkeypatch):
    for name in ("CUBLAS_WORKSPACE_CONFIG", "CUBLASLT_WORKSPACE_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("TORCH_CUBLASLT_UNIFIED_WORKSPACE", raising=False)
    assert step_workspace_bytes("cpu") == 0
    if not torch.cuda.is_available():  # planning for a GPU that is not here: Hopper's sizes
        assert step_workspace_bytes("cuda") == 65 * MiB
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":1024:2")
    monkeypatch.setenv("TORCH_CUBLASLT_UNIFIED_WORKSPACE", "1")
    assert step_workspace_bytes(torch.device("cuda")) == 4 * MiB


def test_workspaces_are_cleared_only_where_cuda_runs(monkeypatch):
    calls = []
    monkeypatch.setattr(torch._C, "_cuda_clearCublasWorkspaces", lambda: calls.append(1),
                        raising=False)  # fmt: skip
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    clear_workspaces()
    assert calls == []  # a CPU build or a machine without a GPU: nothing to free
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    clear_workspaces()
    assert calls == [1]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_step_allocates_the_predicted_workspaces():
    # A Linear with a bias, forward and backward, in a process that may have made workspaces
    # before: once cleared, the allocator sees exactly the predicted workspaces come back.
    lin = torch.nn.Linear(64, 64).cuda()
    x = torch.randn(256, 64, device="cuda", requires_grad=True)
    lin(x).sum().backward()
    torch.cuda.synchronize()
    clear_workspaces()
    before = torch.cuda.memory_allocated()
    lin(x).sum().backward()
    torch.cuda.synchronize()
    grown = torch.cuda.memory_allocated() - before
    assert grown == step_workspace_bytes("cuda"), (grown, step_workspace_bytes("cuda"))
