r"""A stack of grouped reversible blocks with depth-independent activation memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.damped_scales import snapshot_interval
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.reversible_function import inverse_stack, reconstruction_error, run_stack
from revgnn.utils.checks import check_probability

__all__ = ["ReversibleSequential"]


class ReversibleSequential(nn.Module):
    r"""A stack of :class:`~revgnn.GroupAddRev` blocks whose activation memory does not
    depend on depth (RevGNN; Li, Müller, Ghanem, Koltun, ICML 2021).

    ``forward(x, edge_index, *args, **kwargs)`` applies every block in order, passing each the
    same extra arguments. The whole stack is one autograd node that keeps only its output
    (:math:`N \times D`) for the backward pass, which rebuilds each block's input from its
    output (see :mod:`revgnn.nn.rev_stack`).

    Use :meth:`weight_tied` for a stack that applies one block's weights at every layer
    (weight-tied RevGNN), whose parameter count does not depend on depth.

    **Numerics.** The blocks receive their input in the input's dtype (fp32 when the input is
    fp16/bf16, as under autocast). The residual stream between them is accumulated in
    ``stream_dtype``. With the default fp64, rebuilding a block's input loses about 1e-16 per
    block: the gradients of a 1001-layer stack equal the non-reversible ones bit for bit. With
    ``torch.float32`` the stream costs half the memory and the rebuilt input drifts by about
    1e-7 per block: at 1001 layers 2.0e-3 relative in the rebuilt input and 5.7e-2 in the
    gradients (``x.grad`` 7.2e-2; docs/numerics.md). ``snapshot_every=k`` bounds that drift:
    an exact copy of the stream is kept at the input of every ``k``-th block and the backward
    pass restarts from it, at the cost of ``L / k`` stream copies (:math:`N \times D` each).

    **Damping.** ``damping=d`` couples each group as :math:`\mathbf{X}'_i = (1 - d)
    \mathbf{X}_i + f_i(\mathbf{X}'_{i-1})` (still exactly invertible). With a branch scaled by
    :math:`d` (``branch_scale``), a block is the damped step :math:`\mathbf{X} + d\,(g(\mathbf{X})
    - \mathbf{X})`, so the stack iterates towards a fixed point of :math:`g` instead of adding
    :math:`L` increments: GCNII's initial residual then converges to its personalised-PageRank
    limit as the stack deepens. The stream is kept scaled by :math:`(1 - d)^{-l}` (rescaled by
    exact powers of two in a deep stack), so the coupling stays an addition. The inverse of a
    contraction expands roundings, so an fp64 stream is kept on a fixed-point grid, on which
    every sum is exact: the rebuild and the gradients then equal the plain run's. The grid
    holds a stack's whole growth :math:`(1 - d)^{-L}` up to about :math:`2^{29}` (the default
    ``damping="auto"`` at any depth from 33 blocks on); beyond it, or where the activations
    grow, the stack keeps one stream copy where it moves to a coarser grid (see
    :mod:`revgnn.nn.damped_scales`). :meth:`inverse` of a damped stack, which has no record of
    the grid, is exact to about the grid step (below fp32's rounding in a short stack).

    Args:
        blocks (sequence of GroupAddRev): The blocks, applied in order.
        reversible (bool, optional): If ``False``, run the very same weights and arithmetic with
            ordinary autograd, saving every intermediate (the non-reversible reference).
            (default: ``True``)
        stream_dtype (torch.dtype, optional): The dtype of the residual stream and of its
            gradient. (default: ``torch.float64``)
        snapshot_every (int, optional): Keep an exact copy of the stream every this many
            blocks (see above); ``None`` keeps none. (default: ``None``)
        damping (float, optional): The damping :math:`d \in [0, 1)` of the coupling (see
            above); ``0`` is RevGNN's additive coupling. (default: ``0.0``)

    Shapes:
        - **input:** node features :math:`(N, D)`, edge indices :math:`(2, E)`, extra
          arguments as in :class:`~revgnn.GroupAddRev`.
        - **output:** node features :math:`(N, D)`, in fp32 when the input is fp16/bf16.
    """

    def __init__(
        self,
        blocks: Sequence[GroupAddRev],
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
        snapshot_every: int | None = None,
        damping: float = 0.0,
    ) -> None:
        super().__init__()
        check_probability("damping", damping)
        blocks = list(blocks)
        if not blocks:
            raise ValueError("blocks must hold at least one GroupAddRev")
        for i, block in enumerate(blocks):
            if not isinstance(block, GroupAddRev):
                raise TypeError(f"blocks[{i}] is a {type(block).__name__}, not a GroupAddRev")
        snapshot_interval(snapshot_every)
        self.blocks = nn.ModuleList(blocks)
        self.tied_layers: int | None = None
        self.reversible = reversible
        self.stream_dtype = stream_dtype
        self.snapshot_every = snapshot_every
        self.damping = damping

    @classmethod
    def weight_tied(
        cls,
        block: GroupAddRev,
        num_layers: int,
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
        snapshot_every: int | None = None,
        damping: float = 0.0,
    ) -> ReversibleSequential:
        """A stack applying ``block`` (one set of weights) ``num_layers`` times."""
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        stack = cls([block], reversible, stream_dtype, snapshot_every, damping)
        stack.tied_layers = num_layers
        return stack

    @property
    def num_layers(self) -> int:
        return self.tied_layers if self.tied_layers is not None else len(self.blocks)

    @property
    def layers(self) -> list[GroupAddRev]:
        """The block applied at each layer, in order (the same object repeated when tied)."""
        if self.tied_layers is not None:
            return [self.blocks[0]] * self.tied_layers
        return list(self.blocks)

    def reset_parameters(self) -> None:
        for block in self.blocks:
            block.reset_parameters()

    def forward(self, x: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> Tensor:
        return run_stack(
            self.layers,
            x,
            edge_index,
            args,
            kwargs,
            reversible=self.reversible,
            stream_dtype=self.stream_dtype,
            snapshot_every=self.snapshot_every,
            damping=self.damping,
        )

    def inverse(self, y: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Rebuild the stack's input from its output ``y``, without gradients.

        ``y`` has the output's precision, so the rebuilt input is only as exact as that; the
        backward pass starts from the stream itself (see :meth:`reconstruction_error`).
        Random layers (dropout) are not replayed here: call it in evaluation mode.
        """
        return inverse_stack(
            self.layers, y, edge_index, args, kwargs, self.stream_dtype, self.damping
        )

    def reconstruction_error(self, x: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> float:
        r"""Relative error :math:`\|\hat{X} - X\| / \|X\|` of the input that the backward pass
        rebuilds from the stream, run exactly as in training (dropout replayed), without
        changing buffers or the random-number state."""
        return reconstruction_error(
            self.layers,
            x,
            edge_index,
            args,
            kwargs,
            self.stream_dtype,
            self.snapshot_every,
            self.damping,
        )

    def __repr__(self) -> str:
        tied = ", weight_tied=True" if self.tied_layers is not None else ""
        snap = f", snapshot_every={self.snapshot_every}" if self.snapshot_every else ""
        snap += f", damping={self.damping:g}" if self.damping else ""
        return (
            f"{self.__class__.__name__}({self.num_layers} x {self.blocks[0]}{tied}, "
            f"reversible={self.reversible}, stream_dtype={self.stream_dtype}{snap})"
        )
