"""The autocast state of a forward pass, captured so that a recomputation can re-enter it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from revgnn.utils.checks import is_sparse_adjacency
from revgnn.utils.warn import warn_user

__all__ = ["AutocastState", "autocast_disabled", "call_conv", "compute_dtype"]


@dataclass(frozen=True)
class AutocastState:
    """Whether autocast is on, and in which dtype, for the CPU and for ``device``'s type.

    Custom autograd functions that recompute in their backward pass (reversible blocks, the
    lean aggregation) capture it in the forward pass and :meth:`enter` it in the backward pass,
    where torch does not carry autocast.
    """

    device_types: tuple[str, ...]
    enabled: tuple[bool, ...]
    dtypes: tuple[torch.dtype, ...]
    cache_enabled: bool

    @classmethod
    def capture(cls, device: torch.device) -> AutocastState:
        types = ("cpu",) if device.type == "cpu" else ("cpu", device.type)
        return cls(
            types,
            tuple(torch.is_autocast_enabled(t) for t in types),
            tuple(torch.get_autocast_dtype(t) for t in types),
            torch.is_autocast_cache_enabled(),
        )

    @contextlib.contextmanager
    def enter(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for t, enabled, dtype in zip(self.device_types, self.enabled, self.dtypes):
                mode = torch.autocast(
                    t, dtype=dtype, enabled=enabled, cache_enabled=self.cache_enabled
                )
                stack.enter_context(mode)
            yield


@contextlib.contextmanager
def autocast_disabled(device_types: Iterable[str]) -> Iterator[None]:
    """Autocast off for ``device_types`` (arithmetic that must run in full precision)."""
    with contextlib.ExitStack() as stack:
        for t in dict.fromkeys(device_types):
            if torch.is_autocast_enabled(t):
                stack.enter_context(torch.autocast(t, enabled=False))
        yield


def compute_dtype(x: Tensor) -> torch.dtype:
    """The dtype a model's layers take for the input ``x``: float32 for fp16 / bf16 input
    under autocast (an encoder run under it; autocast casts inside each layer, as for any
    module), ``x``'s own otherwise (fp32, fp64, or a model cast to half precision with
    ``model.bfloat16()``, whose weights take it)."""
    half = x.dtype in (torch.float16, torch.bfloat16)
    return torch.float32 if half and torch.is_autocast_enabled(x.device.type) else x.dtype


#: The convs already named in call_conv's warning (once per conv class and process).
_FP32_CONVS: set[str] = set()


def call_conv(conv: Callable[..., Tensor], x: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``conv(x, *args, **kwargs)``; with a sparse adjacency (the first of ``args``, or
    ``edge_index=``) inside autocast, in fp32.

    Sparse matrix products have no half-precision kernels on the CPU (``addmm`` for CSR) and
    take no mixed dtypes (an fp32 adjacency times bf16 features), so, as torch does for its
    own ops without a low-precision kernel, such a conv runs in fp32 with autocast off; its
    output is fp32 and the next autocast op casts it back down. The first such call of each
    conv class says so in a warning: under AMP, GCN and GCNII blocks (the default recipe's)
    still compute in fp32.
    """
    adj = args[0] if args else kwargs.get("edge_index")
    device = x.device.type
    if not is_sparse_adjacency(adj) or not torch.is_autocast_enabled(device):
        return conv(x, *args, **kwargs)

    def up(v: Any) -> Any:
        return v.float() if isinstance(v, Tensor) and v.is_floating_point() else v

    name = type(conv).__name__
    if name not in _FP32_CONVS:
        _FP32_CONVS.add(name)
        warn_user(
            f"autocast: {name} propagates over a sparse adjacency, which has no half-precision "
            "kernels, so it runs in fp32 (autocast applies to the model's other layers)"
        )
    with autocast_disabled([device]):
        return conv(up(x), *(up(a) for a in args), **{k: up(v) for k, v in kwargs.items()})
