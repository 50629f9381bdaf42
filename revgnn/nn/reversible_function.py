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
import weakref
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
        source, start = _continued_node(x, stack)
        stream, kept = stack.forward(x, record=True, start=start)
        out = stack.output(stream)
        if source is not None:
            # Rebuilt exactly by this node's backward pass, which hands it back (below).
            start.untyped_storage().resize_(0)
            source.stream_handed_on = True
            source.successor = weakref.ref(ctx)
        ctx.source = source
        ctx.stack = stack
        ctx.autocast = autocast
        ctx.x_dtype = x.dtype
        ctx.param_versions = [p._version for p in stack.params]
        kept_tensors, ctx.kept_layout = kept.pack()
        # When the stream is wider than the output, or the output is the stream scaled (a
        # damped stack), the stream itself is kept: the output would not invert exactly.
        ctx.keeps_stream = stack.stream_dtype != stack.compute_dtype or stack.end_scale != 1.0
        # A stack called on this output may continue this stream (_continued_node): the
        # saved stream itself, unless a saved-tensor hook keeps another copy of it instead.
        continuable = ctx.keeps_stream and stack.end_scale == 1.0
        ctx.stream_ref = weakref.ref(stream) if continuable else None
        ctx.stream_handed_on = False
        ctx.stream_handed_back = None
        ctx.out_version = out._version
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
        for p, version in zip(ctx.stack.params, ctx.param_versions):
            if p._version != version:
                raise RuntimeError(
                    "a parameter of a reversible block was modified in place between the "
                    "forward and the backward pass (optimizer.step() before backward()?); "
                    "the backward pass recomputes the blocks and needs the forward's weights"
                )
        ybuf = _end_handed_back(ctx) if ctx.stream_handed_on else None
        stack, end, kept = _unpacked(ctx)
        if ybuf is None:  # own copies: what was saved stays intact for a retain_graph=True rerun
            ybuf = end.clone() if ctx.keeps_stream else stack.stream_of(end)
        if ctx.source is not None and not ctx.stream_handed_on:  # the last stack of a chain
            _grads_ahead(ctx)
        gbuf = stack.stream_of(grad_out, grad=True)
        needs = ctx.needs_input_grad[2 : 2 + len(stack.args.tensors)]
        arg_grads, param_grads = _walk_back(ctx, stack, ybuf, gbuf, kept, needs)
        if ctx.source is not None:
            ctx.source.stream_handed_back = ybuf  # the input stream, rebuilt: the source's end
        del ybuf
        grad_x = stack.from_groups(gbuf, ctx.x_dtype) if ctx.needs_input_grad[1] else None
        return (None, grad_x, *arg_grads, *param_grads)


def _unpacked(ctx: Any) -> tuple[RevStack, Tensor, Recorded]:
    """The node's stack with its saved arguments and edge index restored, its saved end (the
    output or the stream), and what its forward pass recorded."""
    stack: RevStack = ctx.stack
    saved = list(ctx.saved_tensors)
    num_args = len(stack.args.chunked)
    stack.args.tensors = saved[1 : 1 + num_args]
    rest = saved[1 + num_args :]
    if ctx.edge_index_saved:
        stack.edge_index = rest.pop(0)
    return stack, saved[0], Recorded.unpack(rest, ctx.kept_layout)


def _walk_back(
    ctx: Any,
    stack: RevStack,
    ybuf: Tensor,
    gbuf: Tensor | None,
    kept: Recorded,
    needs: Sequence[bool],
) -> tuple[list[Tensor | None], list[Tensor | None]]:
    """:meth:`RevStack.backward` (the inverse alone for ``gbuf=None``), the caller's random
    state kept, the saved tensors released afterwards."""
    outer_rng = get_rng_state(stack.device) if kept.seed is not None else None
    try:
        return stack.backward(ybuf, gbuf, kept, ctx.autocast, needs)
    finally:
        if outer_rng is not None:
            set_rng_state(stack.device, outer_rng)
        stack.args.tensors = []
        if ctx.edge_index_saved:
            stack.edge_index = None


#: The autograd node type of a reversible stack, for tools that walk autograd graphs.
ReversibleBackward: type = ReversibleFunction._backward_cls


def _continued_node(x: Tensor, stack: RevStack) -> tuple[Any, Tensor | None]:
    """The autograd node of the reversible stack whose untouched output ``x`` is, and its
    kept stream, where ``stack`` continues that stream instead of starting one from ``x``;
    else ``(None, None)``.

    Blocks called one after another (``x = block(x, ...)`` in a loop, as PyG's examples stack
    ``GroupAddRev``) then keep one stream between them, as one :class:`ReversibleSequential`
    does: each node frees its predecessor's stream, and its backward pass hands that stream
    back, rebuilt exactly. Memory stays flat in depth, and the outputs are those of one
    stack of the same blocks, bit for bit (the stream is not rounded to ``x``'s dtype between
    them). Never for a stream that is the output itself (a stream of the compute dtype: the
    caller's tensor), a damped stack, a second consumer of the same output, or a stream that
    a saved-tensor hook (``save_on_cpu``, checkpointing) keeps a copy of instead."""
    node = x.grad_fn
    if not isinstance(node, ReversibleBackward) or getattr(node, "stream_ref", None) is None:
        return None, None
    start = node.stream_ref()
    if start is None or node.stream_handed_on or x._version != node.out_version:
        return None, None
    prev: RevStack = node.stack
    same = (prev.num_groups, prev.stream_dtype, prev.device)
    if stack.keep != 1.0 or same != (stack.num_groups, stack.stream_dtype, stack.device):
        return None, None
    return node, start


def _grads_ahead(ctx: Any) -> None:
    """The parameter gradients of every stack a chain's last stack continues (stacks called
    one after another), made by the chain's first backward pass before its temporaries, as
    one stack makes all of its own up front (:meth:`RevStack.param_grads` says why).
    Parameters shared with a stack already served (the same block called again) are left to
    their own pass: their buffers would be made once per call."""
    seen = {id(p) for p in ctx.stack.params}
    node = ctx.source
    while node is not None:
        ids = {id(p) for p in node.stack.params}
        if node.stack.grads_ahead is None and not ids & seen:
            node.stack.grads_ahead = node.stack.param_grads()
        seen |= ids
        node = node.source


def _end_handed_back(ctx: Any) -> Tensor:
    """The end stream of a node that handed it on: given back by the successor's backward
    pass, or, where that has not run (its output reaches another loss, differentiated later,
    or none), rebuilt without gradients through the inverses of the successors down to the
    first that holds its stream."""
    stream = ctx.stream_handed_back
    if stream is not None:
        ctx.stream_handed_back = None
        return stream
    chain, node = [], ctx
    while True:
        successor = node.successor()
        if successor is None:
            raise RuntimeError(
                "this reversible block handed its stream on to the reversible block called on "
                "its output (blocks called one after another share one stream, so that memory "
                "does not grow with depth), and that block's autograd graph is gone before its "
                "backward pass ran; keep its output until this backward pass, or call it "
                "under torch.no_grad() or on x.clone()"
            )
        chain.append(successor)
        if not successor.stream_handed_on:
            ybuf = successor.saved_tensors[0].clone()
            break
        if successor.stream_handed_back is not None:
            ybuf = successor.stream_handed_back.clone()
            break
        node = successor
    with torch.no_grad():
        for node in reversed(chain):
            stack, _, kept = _unpacked(node)
            _walk_back(node, stack, ybuf, None, kept, [False] * len(stack.args.tensors))
    return ybuf


def _needs_graph(x: Tensor, stack: RevStack) -> bool:
    if not torch.is_grad_enabled():
        return False
    return x.requires_grad or any(t.requires_grad for t in stack.args.tensors) or bool(stack.params)


# A stack is opaque to a torch.compile of the model around it: its backward pass reseeds the
# generators to replay each group call's random numbers and rebuilds inputs in place, side
# effects that dynamo's traced forward and backward do not keep (the gradients of a compiled
# RevGNN with dropout were wrong). It runs as written; its kernels compile on their own.
@torch.compiler.disable
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
