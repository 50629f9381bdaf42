r"""The reversible stack as one autograd node, and the calls that run a stack.

:class:`ReversibleFunction` runs a :class:`~revgnn.nn.rev_stack.RevStack` keeping only its
output (plus one seed for the random numbers of every group call); its backward
pass walks the blocks in reverse, rebuilding each input while it back-propagates (see
:mod:`revgnn.nn.rev_stack`). :func:`run_stack` applies a stack reversibly or with plain
autograd, :func:`inverse_stack` rebuilds a stack's input from its output, and
:func:`reconstruction_error` measures how exactly the backward pass rebuilds it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from revgnn.nn.damped_scales import on_grid
from revgnn.nn.recorded import Recorded
from revgnn.nn.rev_stack import GroupedBlock, RevStack
from revgnn.utils.autocast import AutocastState
from revgnn.utils.checks import boundary, check_finite, check_graph
from revgnn.utils.modules import restore_buffers
from revgnn.utils.rng import get_rng_state, set_rng_state

__all__ = [
    "ReversibleBackward",
    "ReversibleFunction",
    "inverse_stack",
    "reconstruction_error",
    "run_stack",
]


class ReversibleFunction(torch.autograd.Function):
    """The autograd node of a reversible stack: keeps its output (or its wider stream), the
    lifted tensor arguments, the edge index, and what the forward pass recorded (the seed,
    kept graphs, snapshots)."""

    @staticmethod
    def forward(ctx: Any, stack: RevStack, x: Tensor, *inputs: Tensor) -> Tensor:
        autocast = AutocastState.capture(stack.device)
        stream, kept = stack.forward(x, record=True)
        out = stack.output(stream)
        ctx.stack = stack
        ctx.autocast = autocast
        ctx.x_dtype = x.dtype
        ctx.param_versions = [p._version for p in stack.params]
        kept_tensors, ctx.kept_layout = kept.pack()
        # When the stream is wider than the output, or the output is the stream scaled (a
        # damped stack), the stream itself is kept: the output would not invert exactly.
        ctx.keeps_stream = stack.stream_dtype != stack.compute_dtype or stack.end_scale != 1.0
        # Everything this node keeps goes through save_for_backward: autograd checks that the
        # caller did not modify it in place, and saved_tensors_hooks (the memory counters built
        # on them) see every byte. The stack drops its own references until backward.
        edge_index = stack.edge_index if isinstance(stack.edge_index, Tensor) else None
        ctx.edge_index_saved = edge_index is not None
        to_save = [stream if ctx.keeps_stream else out, *stack.args.tensors]
        if edge_index is not None:
            to_save.append(edge_index)
            stack.edge_index = None
        ctx.save_for_backward(*to_save, *kept_tensors)
        stack.args.tensors = []
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        if torch.is_grad_enabled():
            # create_graph=True: the gradients below come from a recompute that is not
            # itself differentiable, so a second derivative would be silently wrong.
            raise RuntimeError(
                "reversible blocks do not support double backward (create_graph=True); "
                "build the model with reversible=False to differentiate its gradients"
            )
        stack: RevStack = ctx.stack
        saved = list(ctx.saved_tensors)
        num_args = len(stack.args.chunked)
        end = saved[0]
        stack.args.tensors = saved[1 : 1 + num_args]
        rest = saved[1 + num_args :]
        if ctx.edge_index_saved:
            stack.edge_index = rest.pop(0)
        kept = Recorded.unpack(rest, ctx.kept_layout)
        for p, version in zip(stack.params, ctx.param_versions):
            if p._version != version:
                raise RuntimeError(
                    "a parameter of a reversible block was modified in place between the "
                    "forward and the backward pass (optimizer.step() before backward()?); "
                    "the backward pass recomputes the blocks and needs the forward's weights"
                )
        # Own copies: what was saved stays intact for a retain_graph=True second backward.
        ybuf = end.clone() if ctx.keeps_stream else stack.stream_of(end)
        gbuf = stack.stream_of(grad_out, grad=True)
        needs = ctx.needs_input_grad[2 : 2 + num_args]
        outer_rng = get_rng_state(stack.device) if kept.seed is not None else None
        try:
            arg_grads, param_grads = stack.backward(ybuf, gbuf, kept, ctx.autocast, needs)
        finally:
            if outer_rng is not None:
                set_rng_state(stack.device, outer_rng)
            stack.args.tensors = []
            if ctx.edge_index_saved:
                stack.edge_index = None
        del ybuf
        grad_x = stack.from_groups(gbuf, ctx.x_dtype) if ctx.needs_input_grad[1] else None
        return (None, grad_x, *arg_grads, *param_grads)


#: The autograd node type of a reversible stack, for tools that walk autograd graphs.
ReversibleBackward: type = ReversibleFunction._backward_cls


def _needs_graph(x: Tensor, stack: RevStack) -> bool:
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(t.requires_grad for t in stack.args.tensors) or bool(stack.params)


def run_stack(
    layers: Sequence[GroupedBlock],
    x: Tensor,
    edge_index: Any,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    reversible: bool,
    stream_dtype: torch.dtype,
    snapshot_every: int | None = None,
    damping: float = 0.0,
) -> Tensor:
    """Apply ``layers`` to ``x``: reversibly (one autograd node), or with plain autograd. Called
    outside a model (a user's stack), the graph and the features are checked first."""
    with boundary() as outermost:
        if outermost:
            edge_index = _checked(x, edge_index)
        stack = RevStack(layers, x, edge_index, args, kwargs, stream_dtype, snapshot_every, damping)
        return _run_stack(stack, x, reversible)


def _checked(x: Tensor, edge_index: Any) -> Any:
    check_finite("x", x, "a reversible stack needs finite input")
    if edge_index is None:  # point clouds: each layer builds its own graph
        return None
    return check_graph(edge_index, x.size(0))


def _run_stack(stack: RevStack, x: Tensor, reversible: bool) -> Tensor:
    if not reversible:
        return stack.plain(x)
    if not _needs_graph(x, stack):
        return stack.output(stack.forward(x, record=False)[0])
    return ReversibleFunction.apply(stack, x, *stack.args.tensors, *stack.params)


def inverse_stack(
    layers: Sequence[GroupedBlock],
    y: Tensor,
    edge_index: Any,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    stream_dtype: torch.dtype,
    damping: float = 0.0,
) -> Tensor:
    """The input of ``layers`` rebuilt from their output ``y``, without gradients."""
    stack = RevStack(layers, y, edge_index, args, kwargs, stream_dtype, damping=damping)
    ybuf = stack.stream_of(y)
    stack.backward(
        ybuf,
        None,
        Recorded(),
        AutocastState.capture(stack.device),
        [False] * len(stack.args.tensors),
    )
    return stack.from_groups(ybuf, stack.compute_dtype)


def reconstruction_error(
    layers: Sequence[GroupedBlock],
    x: Tensor,
    edge_index: Any,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    stream_dtype: torch.dtype,
    snapshot_every: int | None = None,
    damping: float = 0.0,
) -> float:
    r"""Relative error :math:`\|\hat{X} - X\| / \|X\|` of the input the backward pass
    rebuilds, run as in training (dropout replayed), leaving buffers and RNG unchanged.
    :math:`X` is the input as the first block reads it: a damped fp64 stream's input is
    rounded to the stream's grid (:mod:`revgnn.nn.damped_scales`)."""
    stack = RevStack(layers, x, edge_index, args, kwargs, stream_dtype, snapshot_every, damping)
    unique = list({id(layer): layer for layer in stack.layers}.values())
    outer_rng = get_rng_state(stack.device)
    with torch.no_grad(), contextlib.ExitStack() as keep:
        for layer in unique:
            keep.enter_context(restore_buffers(layer))
        ybuf, kept = stack.forward(x, record=True)
        stack.backward(
            ybuf, None, kept, AutocastState.capture(stack.device), [False] * len(stack.args.tensors)
        )
        set_rng_state(stack.device, outer_rng)
        rebuilt = stack.from_groups(ybuf, stack.stream_dtype)
        ref = on_grid(x.to(stack.stream_dtype), kept.grids.get(0))
        return ((rebuilt - ref).norm() / ref.norm().clamp_min(1e-30)).item()
