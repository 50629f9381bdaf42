r"""The engine behind :class:`~revgnn.GroupAddRev` and :class:`~revgnn.ReversibleSequential`.

A :class:`RevStack` is one call of a stack of grouped reversible blocks (RevGNN; Li, Müller,
Ghanem, Koltun, ICML 2021). With :math:`C` groups,

.. math::

    \mathbf{X}'_0 = \sum_{i=2}^{C} \mathbf{X}_i, \qquad
    \mathbf{X}'_i = f_i(\mathbf{X}'_{i-1}, \mathbf{A}, \mathbf{U}) + \mathbf{X}_i,
    \quad i = 1, \dots, C,

and the inverse runs from :math:`C` down to 1: :math:`\mathbf{X}_i = \mathbf{X}'_i -
f_i(\mathbf{X}'_{i-1})`, then :math:`\mathbf{X}'_0 = \sum_{i \ge 2} \mathbf{X}_i` and
:math:`\mathbf{X}_1 = \mathbf{X}'_1 - f_1(\mathbf{X}'_0)`.

With ``damping`` :math:`d \in [0, 1)` the coupling is :math:`\mathbf{X}'_i = (1 - d)
\mathbf{X}_i + f_i(\mathbf{X}'_{i-1})`: with :math:`f_i` scaled by :math:`d` as well, each block
is a damped step :math:`\mathbf{X} \leftarrow \mathbf{X} + d\,(g(\mathbf{X}) - \mathbf{X})`
towards a fixed point of the branch function :math:`g`. The stream is kept as :math:`\mathbf{S}
= \mathbf{X} / (1 - d)^l` after block :math:`l`, which turns the coupling into an additive
one, :math:`\mathbf{S}'_i = \mathbf{S}_i + f_i(\cdot) / (1 - d)^{l+1}` with the increment
rounded to the compute dtype. In a deep stack :math:`(1 - d)^l` leaves every float's range,
so the stream is rescaled by exact powers of two on the way; and the inverse of a contraction
amplifies roundings, so an fp64 damped stream is kept on a fixed-point grid on which every sum
is exact (:mod:`revgnn.nn.damped_scales`): the rebuild is then exact, as without damping, with
a stream copy only where a stream outgrows its grid.

:class:`~revgnn.nn.reversible_function.ReversibleFunction` runs the whole stack as one autograd
node that keeps only the stack's output (plus one seed from which every group call's random
numbers derive). Its backward pass walks the blocks in reverse; for each group it recomputes
:math:`f_i` once, with autograd enabled or through :math:`f_i`'s own backward pass where it has
one (:mod:`revgnn.nn.group_vjp`), takes the vector-Jacobian product, and subtracts the
recomputed :math:`f_i` to rebuild that group's input, so inverse and recomputation share one
evaluation of :math:`f_i`. The rebuilt activations live in two buffers that are reused by every
block, so activation memory is :math:`O(ND)` at any depth.

Guarantees, each covered by a test: ordinary dropout inside :math:`f_i` gives the gradients of
the plain computation (each group call runs on generators seeded from the call's one seed and
its index, in the plain run too, and the backward pass seeds them again); buffers such as
BatchNorm statistics are updated once per step; autocast is captured in the forward pass and
re-entered in the backward pass; no tensor the caller can reach is freed or modified in place;
a second backward needs ``retain_graph=True``, as for any autograd graph.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import torch
from torch import Tensor, nn

from revgnn.nn.damped_scales import (
    damped_scales,
    grid_before,
    grid_steps,
    increment,
    increment_units,
    largest_magnitude,
    on_grid,
    on_grid_,
    overflowed,
    snapshot_interval,
    snapshot_layers,
)
from revgnn.nn.graph_tape import recording, replaying
from revgnn.nn.group_vjp import (
    ExplicitBackward,
    accumulate_vjp,
    add_input_grad,
    explicit_call,
    index_parameters,
)
from revgnn.nn.group_widths import check_channels, check_group_widths
from revgnn.nn.recorded import Recorded
from revgnn.nn.rev_args import RevArgs
from revgnn.utils.autocast import AutocastState, compute_dtype
from revgnn.utils.checks import boundary, check_probability
from revgnn.utils.modules import restore_buffers
from revgnn.utils.rng import SeededCalls

__all__ = ["RevStack"]


class GroupedBlock(Protocol):
    """What the engine needs of a block: its ``C`` group functions."""

    convs: nn.ModuleList

    @property
    def num_groups(self) -> int: ...


def _drop_autocast_cache() -> None:
    # With gradients enabled, autocast keeps the low-precision copy of every weight it casts
    # until its context exits: over the backward walk, 2 bytes a parameter of the whole stack,
    # allocated between each block's large temporaries where they also fragment the heap (CPU,
    # bf16, 112 layers x 128: 3.1 GB of RSS for 183 MiB of live tensors; 617 MiB without the
    # copies). A block's copies are not used by the next block (a weight-tied one casts again).
    torch.clear_autocast_cache()


class RevStack:
    """One call of a stack of reversible blocks: the layers, the arguments and the state.

    Two dtypes are involved. ``compute_dtype`` is what every ``f_i`` receives (the input's
    dtype, or fp32 for fp16/bf16 inputs, which come from autocast). ``stream_dtype`` is what the
    residual stream ``X'_i = f_i(.) + X_i``, and its gradient, are accumulated in: by default
    fp64, so that rebuilding ``X_i = X'_i - f_i(.)`` loses ~1e-16 per block instead of fp32's
    ~1e-7. Each ``f_i`` then sees the same ``compute_dtype`` rounding of the same value in the
    forward pass and in the backward recomputation, and returns the same result bit for bit.

    ``snapshot_every=k`` keeps an exact copy of the stream at the input of every ``k``-th
    block: the backward pass resets its rebuilt stream to it there, so a float32 stream
    drifts over at most ``k`` blocks instead of all of them (memory ``L/k`` x the stream).
    """

    def __init__(
        self,
        layers: Sequence[GroupedBlock],
        x: Tensor,
        edge_index: Any,
        args: Sequence[Any],
        kwargs: dict[str, Any],
        stream_dtype: torch.dtype,
        snapshot_every: int | None = None,
        damping: float = 0.0,
    ) -> None:
        check_probability("damping", damping)
        if x.dim() != 2:
            raise ValueError(f"x must have shape [num_nodes, channels], got {list(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got {x.dtype}")
        self.layers = list(layers)
        self.num_groups = self.layers[0].num_groups
        for layer in self.layers:
            if layer.num_groups != self.num_groups:
                raise ValueError(
                    f"every block of a stack must have the same num_groups, got "
                    f"{self.num_groups} and {layer.num_groups}"
                )
        self.channels = x.size(-1)
        check_channels(self.channels, self.num_groups)
        check_group_widths(self.layers, self.channels)
        self.edge_index = edge_index
        self.args = RevArgs.lift(args, kwargs, self.channels)
        self.device = x.device
        self.compute_dtype = compute_dtype(x)
        self.stream_dtype = torch.promote_types(stream_dtype, self.compute_dtype)
        self.keep = 1.0 - damping
        self.snapshot_every = snapshot_interval(snapshot_every)
        # A float32 stream has no room for a grid: it drifts, damped or not (snapshot_every).
        self.gridded = self.keep < 1.0 and self.stream_dtype == torch.float64
        self.shifts, self.scales_in, self.scales_out = damped_scales(len(self.layers), self.keep)
        self.end_scale = self.scales_out[-1]
        # Parameters are Function inputs so that autograd (and DDP's hooks) see their gradients;
        # a tied stack lists each parameter once and accumulates over its layers.
        self.params, self.param_index = index_parameters(self.layers)
        self.grads_ahead: list[Tensor] | None = None  # param_grads' buffers, made by a caller

    # -- layout: the stream is kept group-major, [C, N, D/C], so each group is contiguous

    def to_groups(self, x: Tensor) -> Tensor:
        n, c = x.size(0), self.num_groups
        # clone, not contiguous(): a one-node graph's permuted view is already contiguous,
        # and the caller's tensor must not be the buffer the backward pass edits in place.
        g = x.to(self.stream_dtype).view(n, c, self.channels // c).permute(1, 0, 2)
        return g.clone(memory_format=torch.contiguous_format)

    def from_groups(self, g: Tensor, dtype: torch.dtype) -> Tensor:
        return g.permute(1, 0, 2).reshape(g.size(1), self.channels).to(dtype)

    def first_input(self, groups: Sequence[Tensor]) -> Tensor:
        """X'_0 = sum_{i>=2} X_i, summed left to right in every code path."""
        if self.num_groups == 2:
            return groups[1]
        return functools.reduce(torch.add, list(groups[1:]))

    def call(self, conv: nn.Module, inp: Tensor, group_tensors: Sequence[Any]) -> Tensor:
        args, kwargs = self.args.build(group_tensors)
        return conv(inp, self.edge_index, *args, **kwargs)

    # -- damping: the stream holds S = X / keep^l after block l (see the module docstring)

    def _input(self, stream: Tensor, scale: float) -> Tensor:
        return (stream if scale == 1.0 else stream * scale).to(self.compute_dtype)

    def _increment(self, z: Tensor, scale: float) -> Tensor:
        return increment(z, scale, self.compute_dtype)

    def _add_increment(
        self, out: Tensor, base: Tensor, z: Tensor, scale: float, step: float | None,
        sign: float = 1.0,
    ) -> None:  # fmt: skip
        """``out = base + sign * on_grid(increment)`` outside autograd, rounded as the plain
        run's sum (:func:`~revgnn.nn.damped_scales.increment_units`)."""
        units, unit = increment_units(z.detach(), scale, step, self.compute_dtype)
        torch.add(base, units, alpha=sign * unit, out=out)

    def _increment_grad(self, grad: Tensor, dtype: torch.dtype, scale: float) -> Tensor:
        """The gradient of z (of ``dtype``) from its increment's (the plain run's rounding
        order: cast to the increment's dtype, scaled, cast to z's dtype)."""
        if scale == 1.0:
            return grad.to(dtype)
        return (grad.to(self.compute_dtype) / scale).to(dtype)

    def output(self, stream: Tensor) -> Tensor:
        """The stack's output (compute dtype) from its final stream."""
        end = self.end_scale
        return self.from_groups(stream if end == 1.0 else stream * end, self.compute_dtype)

    def stream_of(self, y: Tensor, grad: bool = False) -> Tensor:
        """The final stream (group-major) of output ``y``, or of its gradient (``grad``)."""
        g, end = self.to_groups(y), self.end_scale
        return g if end == 1.0 else (g.mul_(end) if grad else g.div_(end))

    def snapshot_layers(self) -> list[int]:
        """Blocks whose input the forward pass keeps exactly by ``snapshot_every`` (a damped
        stream adds those where it moves to a coarser grid)."""
        return snapshot_layers(len(self.layers), self.snapshot_every)

    def _amax(self, stream: Tensor) -> float:
        return largest_magnitude(stream) if self.gridded else 0.0

    def _grid_before(self, li: int, step: float | None, amax: float) -> tuple[float | None, bool]:
        """The grid step of block ``li``'s sums, and whether the stream moves to it there."""
        if not self.gridded:
            return None, False
        return grid_before(step, amax, self.keep, len(self.layers) - li)

    @contextlib.contextmanager
    def _seeded(self) -> Iterator[SeededCalls]:
        """The generators of this call's group calls, each seeded from one seed and its index
        (:class:`~revgnn.utils.rng.SeededCalls`), handed back afterwards."""
        seeds = SeededCalls(self.device)
        try:
            yield seeds
        finally:
            seeds.close()

    # -- plain autograd: the non-reversible reference, same arithmetic, everything saved

    def plain(self, x: Tensor) -> Tensor:
        with self._seeded() as seeds:
            return self._plain(x, seeds)

    def _plain(self, x: Tensor, seeds: SeededCalls) -> Tensor:
        x = x.to(self.stream_dtype)
        groups = self.args.per_group(self.args.tensors, self.num_groups)
        step, amax = None, self._amax(x)
        for li, layer in enumerate(self.layers):
            if self.shifts[li] != 1.0:
                x, amax = x * self.shifts[li], amax * self.shifts[li]
                step = None if step is None else step * self.shifts[li]
            step, moved = self._grid_before(li, step, amax)
            if moved:
                x = on_grid(x, step)
            xs = x.chunk(self.num_groups, dim=-1)
            prev, scale, out_scale = self.first_input(xs), self.scales_in[li], self.scales_out[li]
            outs = []
            for i, conv in enumerate(layer.convs):
                fresh = seeds.enter(li * self.num_groups + i)
                z = self.call(conv, self._input(prev, scale), groups[i])
                seeds.exit(fresh)
                prev, scale = xs[i] + on_grid(self._increment(z, out_scale), step), out_scale
                outs.append(prev)
            x = torch.cat(outs, dim=-1)
            amax = self._amax(x)
        end = self.end_scale
        return (x if end == 1.0 else x * end).to(self.compute_dtype)

    # -- reversible forward: no graph, two stream buffers reused by every block

    def forward(
        self, x: Tensor, record: bool, start: Tensor | None = None
    ) -> tuple[Tensor, Recorded]:
        """The output stream (group-major) and, if ``record``, what the backward pass needs
        (:class:`Recorded`); continuing ``start``, the stream ``x`` was rounded from, if given."""
        cur = self.to_groups(x.detach()) if start is None else start.clone()
        with self._seeded() as seeds:
            stream, kept = self._forward(cur, record, seeds)
        kept.seed = seeds.seed
        return stream, kept

    def _forward(self, cur: Tensor, record: bool, seeds: SeededCalls) -> tuple[Tensor, Recorded]:
        groups = self.args.per_group([t.detach() for t in self.args.tensors], self.num_groups)
        nxt = torch.empty_like(cur)
        kept = Recorded()
        keep = set(self.snapshot_layers()) if record else set()
        step, amax = None, self._amax(cur)
        for li, layer in enumerate(self.layers):
            if self.shifts[li] != 1.0:
                cur.mul_(self.shifts[li])
                amax *= self.shifts[li]
                step = None if step is None else step * self.shifts[li]
            step, moved = self._grid_before(li, step, amax)
            # Block 0 rounds the stack's input: that is the stack's function, not a loss.
            if record and (li in keep or (moved and li > 0)):
                kept.snapshots[li] = cur.clone()
            if moved:
                on_grid_(cur, step)
                if record:
                    kept.grids[li] = step
            prev, scale, out_scale = self.first_input(cur), self.scales_in[li], self.scales_out[li]
            for i, conv in enumerate(layer.convs):
                key = li * self.num_groups + i
                fresh = seeds.enter(key)
                with recording() if record else contextlib.nullcontext() as graphs:
                    z = self.call(conv, self._input(prev, scale), groups[i])
                seeds.exit(fresh)
                if graphs:
                    kept.graphs[key] = graphs
                self._add_increment(nxt[i], cur[i], z, out_scale, step)
                prev, scale = nxt[i], out_scale
            del z, prev
            amax = self._amax(nxt)
            if record and step is not None and overflowed(amax, step):
                kept.inputs[li] = cur.clone()  # the rebuild of this block restarts from it
            cur, nxt = nxt, cur
        return cur, kept

    # -- backward: inverse and recomputation share one evaluation of each f_i

    def backward(self, *args: Any, **kwargs: Any) -> tuple[list[Tensor | None], ...]:
        """:meth:`_backward` nested in the boundary of the module that ran the forward pass:
        the recomputed layers do not check their inputs again."""
        with boundary():
            return self._backward(*args, **kwargs)

    def _backward(
        self,
        ybuf: Tensor,
        gbuf: Tensor | None,
        kept: Recorded,
        autocast: AutocastState,
        needs_arg_grad: Sequence[bool],
    ) -> tuple[list[Tensor | None], list[Tensor | None]]:
        """Walk the blocks in reverse, turning ``ybuf`` (the output stream, group-major, owned
        by the caller) into the input stream in place, and ``gbuf`` (its gradient) into the
        input's gradient. Returns the gradients of the lifted tensor arguments and of the
        parameters. With ``gbuf=None`` only the input is rebuilt."""
        c = self.num_groups
        with_grad = gbuf is not None
        leaves, arg_grads, arg_grad_views = self.args.leaves(c, with_grad, needs_arg_grad)
        param_grads = self.param_grads(with_grad)
        touched = [False] * len(self.params)

        steps = grid_steps(self.shifts, kept.grids)
        grad_mode = torch.enable_grad() if with_grad else torch.no_grad()
        # Recompute under the forward's autocast, VJP outside it (as any backward pass runs).
        with grad_mode:
            for li in range(len(self.layers) - 1, -1, -1):
                layer = self.layers[li]
                out_scale = self.scales_out[li]
                exact = kept.inputs.get(li)
                for i in range(c - 1, -1, -1):
                    conv = layer.convs[i]
                    first = ybuf if exact is None else exact
                    src = ybuf[i - 1] if i > 0 else self.first_input(first)
                    scale = out_scale if i > 0 else self.scales_in[li]
                    # A fresh compute-dtype copy: f may save it, and ybuf changes in place.
                    inp = self._input(src, scale)
                    inp = (inp.clone() if inp is src else inp).requires_grad_(with_grad)
                    if kept.seed is not None:
                        SeededCalls.replay(self.device, kept.seed, li * c + i)
                    graphs = kept.graphs.get(li * c + i)
                    # Buffers restored after the VJP: BatchNorm's backward reads saved stats.
                    with restore_buffers(conv):
                        z, explicit = self._recompute(conv, inp, leaves[i], graphs, autocast,
                                                      with_grad)  # fmt: skip
                        dtype = z.dtype
                        if explicit is not None:
                            # Its backward pass does not read z: rebuild the input first and
                            # free z before the gradients are made.
                            self._add_increment(ybuf[i], ybuf[i], z, out_scale, steps[li], -1.0)
                            z = None
                        if with_grad:  # in the plain run's rounding order (both helpers)
                            grad_z = self._increment_grad(gbuf[i], dtype, out_scale)
                            g_in, reached = accumulate_vjp(
                                z, inp, grad_z, explicit, params=self.params,
                                pidx=self.param_index[id(conv)], param_grads=param_grads,
                                leaves=leaves[i], arg_slots=self.args.arg_slots,
                                arg_grad_views=arg_grad_views[i],
                            )  # fmt: skip
                            del grad_z  # before the input's gradient is widened
                            add_input_grad(gbuf, i, g_in, scale)
                            for j in reached:
                                touched[j] = True
                    if z is not None:
                        self._add_increment(ybuf[i], ybuf[i], z, out_scale, steps[li], -1.0)
                    # Freed before the next group's: the explicit pass's saved tensors too.
                    z = inp = explicit = g_in = None
                for restart in (exact, kept.snapshots.get(li)):
                    if restart is not None:
                        ybuf.copy_(restart)
                if self.shifts[li] != 1.0:  # exact: a power of two
                    ybuf.div_(self.shifts[li])
                    if with_grad:
                        gbuf.mul_(self.shifts[li])
                _drop_autocast_cache()
        return arg_grads, [g if t else None for g, t in zip(param_grads, touched)]

    def param_grads(self, with_grad: bool = True) -> list[Tensor | None]:
        """The zeroed buffers the backward pass accumulates the parameters' gradients in
        (``None`` each without gradients), or ``grads_ahead`` where a caller made them."""
        # Allocated up front, not as each layer's gradients arrive: long-lived allocations
        # made between the recompute's large temporaries fragment the heap, and glibc then
        # grows the process by a block's working set per layer instead of reusing it. Stacks
        # called one after another get theirs from the chain's first backward pass.
        if with_grad and self.grads_ahead is not None:
            ahead, self.grads_ahead = self.grads_ahead, None
            return list(ahead)
        return [
            torch.zeros_like(p, memory_format=torch.contiguous_format) if with_grad else None
            for p in self.params
        ]

    def _recompute(
        self,
        conv: nn.Module,
        inp: Tensor,
        group_tensors: Sequence[Any],
        graphs: Any,
        autocast: AutocastState,
        with_grad: bool,
    ) -> tuple[Tensor, ExplicitBackward | None]:
        """A group's output rebuilt on ``inp``, and its own backward pass where it has one
        for this call (:func:`~revgnn.nn.group_vjp.explicit_call`; not under autocast, not
        for replayed graphs); else ``None``, and autograd records the recomputation."""
        if with_grad and not graphs and not any(autocast.enabled):
            explicit = explicit_call(conv, inp, self.edge_index, self.args, group_tensors)
            if explicit is not None:
                return explicit
        with autocast.enter(), replaying(graphs) if graphs else contextlib.nullcontext():
            return self.call(conv, inp, group_tensors), None
