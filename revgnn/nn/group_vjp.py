"""One group's vector-Jacobian product in a reversible stack's backward pass.

The backward pass of a stack (:class:`~revgnn.nn.rev_stack.RevStack`) recomputes each group's
output :math:`z = f_i(x)` and back-propagates the gradient of :math:`z` to :math:`x`, to
:math:`f_i`'s parameters and to the tensors lifted out of the call's arguments (an initial
embedding, a shared dropout mask), in one of two ways with the same gradients:

* autograd: :math:`f_i` recomputed with autograd recording it, then ``torch.autograd.grad``;
* the group function's own backward pass, where it has one for the call (``explicit_vjp``:
  :meth:`revgnn.nn.PreActConv.explicit_vjp`, GCNII's pre-activation block): :math:`f_i`
  recomputed without a graph, its gradients made by hand. On Cora at 64 GCNII blocks (one
  thread) the stack's backward pass took 157-168 ms of a training step instead of 204-216 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.rev_args import RevArgs

__all__ = [
    "ExplicitBackward",
    "accumulate_vjp",
    "add_input_grad",
    "explicit_call",
    "index_parameters",
]

#: A group's own backward pass: the gradient of its output to the gradients of its input, of
#: its trainable parameters (``parameters()``'s order) and of its positional arguments.
ExplicitBackward = Callable[[Tensor], tuple[Tensor, list[Any], list[Any]]]


def explicit_call(
    conv: nn.Module, inp: Tensor, edge_index: Any, args: RevArgs, group_tensors: Sequence[Any]
) -> tuple[Tensor, ExplicitBackward] | None:
    """``conv``'s output on ``inp`` and its own backward pass, where ``conv`` has one for this
    call (``conv.explicit_vjp`` returns it, or ``None``); ``None`` otherwise, and for a call
    with lifted keyword arguments (their gradients take autograd's path)."""
    explicit_vjp = getattr(conv, "explicit_vjp", None)
    if explicit_vjp is None or args.kwarg_slots:
        return None
    positional, kwargs = args.build(group_tensors)
    return explicit_vjp(inp, edge_index, *positional, **kwargs)


def accumulate_vjp(
    z: Tensor | None,
    inp: Tensor,
    grad_z: Tensor,
    explicit: ExplicitBackward | None,
    *,
    params: Sequence[Tensor],
    pidx: Sequence[int],
    param_grads: Sequence[Tensor | None],
    leaves: Sequence[Any],
    arg_slots: Sequence[int | None],
    arg_grad_views: Sequence[Tensor | None],
) -> tuple[Tensor | None, list[int]]:
    """Back-propagate ``grad_z`` through one group call, by ``explicit`` (the group's own
    backward pass, ``z`` unused) or by autograd over the recomputed ``z``; add the gradients
    of the stack's parameters ``params[j]`` (``j`` in ``pidx``) into ``param_grads[j]`` and of
    the lifted tensors ``leaves[k]`` into ``arg_grad_views[k]`` where those are not ``None``.
    Returns the gradient of ``inp`` and the parameters reached."""
    arg_idx = [k for k, g in enumerate(arg_grad_views) if g is not None]
    if explicit is None:
        wrt = [inp] + [params[j] for j in pidx] + [leaves[k] for k in arg_idx]
        grads = tuple(torch.autograd.grad(z, wrt, grad_z, allow_unused=True))
    else:
        g_x, g_params, g_args = explicit(grad_z)
        slot = {s: g for s, g in zip(arg_slots, g_args) if s is not None}
        grads = (g_x, *g_params, *(slot.get(k) for k in arg_idx))
    added = []
    for j, g in zip(pidx, grads[1 : 1 + len(pidx)]):
        if g is not None:
            param_grads[j].add_(g)
            added.append(j)
    for k, g in zip(arg_idx, grads[1 + len(pidx) :]):
        if g is not None:
            arg_grad_views[k].add_(g)
    return grads[0], added


def add_input_grad(gbuf: Tensor, i: int, g_in: Tensor | None, scale: float) -> None:
    """Add group ``i``'s input gradient, times ``scale`` (from the stream to that input) after
    widening it to the stream's dtype, to the stream's gradient ``gbuf`` (group-major): to
    group ``i - 1``'s, or, for ``i = 0``, whose input is the sum of the others, to every other
    group's."""
    if g_in is None:
        return
    if scale != 1.0:
        g_in = g_in.to(gbuf.dtype).mul_(scale)
    for j in [i - 1] if i > 0 else range(1, gbuf.size(0)):
        gbuf[j].add_(g_in)


def index_parameters(layers: Sequence[Any]) -> tuple[list[nn.Parameter], dict[int, list[int]]]:
    """The trainable parameters of a stack's group functions (``layer.convs`` of each layer),
    each listed once however many groups or layers share it, and each group function's
    indices into that list, keyed by ``id(conv)``: :func:`accumulate_vjp`'s ``pidx``."""
    params: list[nn.Parameter] = []
    index: dict[int, list[int]] = {}
    seen: dict[int, int] = {}
    for layer in layers:
        for conv in layer.convs:
            if id(conv) in index:
                continue
            idx = []
            for p in conv.parameters():
                if not p.requires_grad:
                    continue
                if id(p) not in seen:
                    seen[id(p)] = len(params)
                    params.append(p)
                idx.append(seen[id(p)])
            index[id(conv)] = idx
    return params, index
