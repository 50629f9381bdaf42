"""The cuBLAS workspaces that a training step allocates on a CUDA device.

PyTorch gives every (cuBLAS handle, stream) pair a workspace from its caching allocator, so
``torch.cuda.max_memory_allocated`` counts them like tensors. Handles are per thread, and
autograd runs a CUDA backward pass on its own device thread: a training step makes

* on the caller's thread, one cuBLAS workspace and one cuBLASLt workspace (``nn.Linear``
  with a bias runs through cuBLASLt);
* on autograd's thread, one cuBLAS workspace (the backward's matrix products have no bias).

Sizes, as PyTorch's ``aten/src/ATen/cuda/CublasHandlePool.cpp`` sets them:

* cuBLAS: ``CUBLAS_WORKSPACE_CONFIG`` (``:SIZE:COUNT`` pairs, SIZE in KiB), else 32 MiB on
  compute capability 9.0 (H100, H200) and ``:4096:2:16:8`` (8.125 MiB) on others;
* cuBLASLt: ``CUBLASLT_WORKSPACE_SIZE`` KiB (default 1024), no more than the cuBLAS
  workspace; none of its own when ``TORCH_CUBLASLT_UNIFIED_WORKSPACE=1`` (it then shares the
  cuBLAS one).

On an H200 these 65 MiB were the whole gap between the planner's activations-only prediction
and ``max_memory_allocated`` of a 28-layer RevGNN step (61.3 MB predicted, 129.4 MB measured).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import torch

__all__ = [
    "HOPPER",
    "clear_workspaces",
    "cublas_workspace_bytes",
    "cublaslt_workspace_bytes",
    "step_workspace_bytes",
]

#: The compute capability that gets PyTorch's larger default cuBLAS workspace.
HOPPER = (9, 0)
_HOPPER_DEFAULT = 4096 * 8 * 1024
_OTHER_DEFAULT = 4096 * 1024 * 2 + 16 * 1024 * 8
_LT_DEFAULT_KIB = 1024


def cublas_workspace_bytes(
    capability: tuple[int, int] = HOPPER, env: Mapping[str, str] | None = None
) -> int:
    """Bytes of one cuBLAS workspace on a device of ``capability`` under ``env`` (default:
    this process's environment)."""
    env = os.environ if env is None else env
    config = env.get("CUBLAS_WORKSPACE_CONFIG")
    if config:
        pairs = re.findall(r":([0-9]+):([0-9]+)", config)
        if pairs:
            return sum(int(size) * 1024 * int(count) for size, count in pairs)
    return _HOPPER_DEFAULT if tuple(capability) == HOPPER else _OTHER_DEFAULT


def cublaslt_workspace_bytes(
    capability: tuple[int, int] = HOPPER, env: Mapping[str, str] | None = None
) -> int:
    """Bytes of one cuBLASLt workspace of its own (0 when it shares cuBLAS's)."""
    env = os.environ if env is None else env
    if env.get("TORCH_CUBLASLT_UNIFIED_WORKSPACE", "").lower() in ("1", "true", "on", "yes"):
        return 0
    try:
        kib = int(env.get("CUBLASLT_WORKSPACE_SIZE", _LT_DEFAULT_KIB))
    except ValueError:
        kib = _LT_DEFAULT_KIB
    return min(kib * 1024, cublas_workspace_bytes(capability, env))


def step_workspace_bytes(device: torch.device | str = "cpu") -> int:
    """Bytes of the workspaces one training step on ``device`` allocates: 0 off CUDA; on CUDA
    two cuBLAS workspaces (forward and backward threads) and one cuBLASLt workspace. Without a
    visible GPU (planning for one), the capability is taken as Hopper's, the larger default."""
    device = torch.device(device)
    if device.type != "cuda":
        return 0
    capability = HOPPER
    if torch.cuda.is_available():
        capability = torch.cuda.get_device_capability(device)
    return 2 * cublas_workspace_bytes(capability) + cublaslt_workspace_bytes(capability)


def clear_workspaces() -> None:
    """Free PyTorch's cuBLAS and cuBLASLt workspaces (the next matrix product makes them
    again), so that a measured step counts the workspaces it needs whether or not an earlier
    step made them."""
    clear = getattr(torch._C, "_cuda_clearCublasWorkspaces", None)
    if clear is not None and torch.cuda.is_available():
        clear()
