r"""The base class of revgnn's aggregators: a PyG aggregation with a memory-lean path.

An aggregator is one class in one file of :mod:`revgnn.nn.aggr`. It subclasses
:class:`LeanAggregation`, names itself in ``names`` (which registers it with
:func:`~revgnn.nn.aggr.aggregation_resolver`), and implements

* ``plain(x, index, dim_size)``: ordinary autograd on given messages (the reference);
* ``lean_forward(lf, param) -> (out, stats)`` and ``lean_backward(lb, stats, param, g) ->
  grad_param``: the reduction and its gradient written out from the formula, over the edge
  slices of :class:`~revgnn.nn.aggr.lean.LeanForward` / ``LeanBackward``;
* optionally ``from_options`` (how GENConv's options build it: its keyword-only parameters
  are the options it reads, so ``aggregation_options`` knows which GENConv options apply to
  which aggregator), ``lean_param`` (the tensor the lean path differentiates) and ``scale``
  (applied after either path).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import aggr as pyg_aggr

from revgnn.nn.aggr.lean import LeanBackward, LeanForward, degree, fused_aggregate
from revgnn.utils.registry import Registry

__all__ = ["AGGREGATIONS", "DegreeScaled", "LeanAggregation"]

#: Every registered aggregator, by name (filled from the classes' ``names``).
AGGREGATIONS: Registry[type[LeanAggregation]] = Registry("aggregation", arg="aggr")


class LeanAggregation(pyg_aggr.Aggregation):
    r"""A PyG :class:`~torch_geometric.nn.aggr.Aggregation` with a switchable memory-lean path
    (:mod:`revgnn.nn.aggr.lean`).

    Args:
        lean (bool, optional): Use the memory-lean path. (default: ``True``)
        chunk_size (int, optional): Edges per slice of the lean path, or ``None`` for all.
            (default: ``None``)

    Shapes:
        - **input:** messages :math:`(E, D)`, and ``index`` :math:`(E,)` (the target node of
          every message) or ``ptr`` :math:`(N + 1,)` (CSR offsets of messages sorted by target).
        - **output:** :math:`(N, D)`.
    """

    #: Names under which :func:`~revgnn.nn.aggr.aggregation_resolver` builds this class.
    names: ClassVar[tuple[str, ...]] = ()
    #: The memory planner's calibration family (:mod:`revgnn.memory.plan`): aggregators
    #: with the same working set share constants; ``""``: none measured.
    family: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.__dict__.get("names", ()):
            AGGREGATIONS.add(name, cls)

    def __init__(self, lean: bool = True, chunk_size: int | None = None) -> None:
        super().__init__()
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size} must be at least 1 (or None)")
        self.lean = lean
        self.chunk_size = chunk_size

    @classmethod
    def from_options(
        cls, name: str, *, lean: bool = True, chunk_size: int | None = None
    ) -> LeanAggregation:
        """Build the aggregator registered as ``name`` from GENConv's options; its keyword
        parameters are the options it reads (this base: ``lean`` and ``chunk_size``)."""
        return cls(lean=lean, chunk_size=chunk_size)

    @staticmethod
    def learnable(value: float, learn: bool, channels: int, name: str) -> Tensor | float:
        """A fixed float, or a learnable parameter of ``channels`` entries."""
        if channels < 1:
            raise ValueError(f"channels={channels} must be at least 1")
        if not learn:
            if channels != 1:
                raise ValueError(
                    f"channels={channels} (a per-channel {name}) needs learn=True; a fixed "
                    f"{name} is one number"
                )
            return float(value)
        return Parameter(torch.full((channels,), float(value)))

    def lean_kernel(self) -> type[LeanAggregation]:
        """The class whose ``lean_forward`` / ``lean_backward`` this instance runs."""
        return type(self)

    def lean_param(self) -> Tensor | None:
        return None

    def plain(self, x: Tensor, index: Tensor, dim_size: int) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def lean_forward(lf: LeanForward, param: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        raise NotImplementedError

    @staticmethod
    def lean_backward(
        lb: LeanBackward, stats: list[Tensor], param: Tensor | None, g: Tensor
    ) -> Tensor | None:
        raise NotImplementedError

    def scale(self, out: Tensor, index: Tensor, dim_size: int) -> Tensor:
        return out

    def forward(
        self,
        x: Tensor,
        index: Tensor | None = None,
        ptr: Tensor | None = None,
        dim_size: int | None = None,
        dim: int = -2,
        **kwargs: Any,
    ) -> Tensor:
        self.assert_two_dimensional_input(x, dim)
        if index is None and ptr is not None:
            if ptr.dim() != 1 or ptr.numel() < 1 or int(ptr[-1]) != x.size(0):
                raise ValueError(
                    f"ptr must be 1-D CSR offsets ending at the number of messages "
                    f"({x.size(0)}), got shape {list(ptr.shape)}"
                )
            counts = ptr.diff()
            index = torch.repeat_interleave(
                torch.arange(counts.numel(), device=ptr.device), counts, output_size=x.size(0)
            )
            if dim_size is None:
                dim_size = ptr.numel() - 1
        elif index is None:  # as in PyG: every message into one output row
            index = x.new_zeros(x.size(0), dtype=torch.long)
        if index.numel() != x.size(0):
            raise ValueError(
                f"index has {index.numel()} entries but there are {x.size(0)} messages"
            )
        needed = int(index.max()) + 1 if index.numel() > 0 else 0
        if dim_size is None:
            dim_size = needed
        elif dim_size < needed:
            raise ValueError(
                f"Encountered invalid 'dim_size' (got '{dim_size}' but expected >= "
                f"'{needed}'): index refers to output row {needed - 1}"
            )
        if self.lean:  # the caller's index: its sorted segments are cached across calls
            out = fused_aggregate(self, index, dim_size, edge_attr=x)
        else:
            out = self.plain(x, index.long(), dim_size)
        return self.scale(out, index.long(), dim_size)

    def aggregate_edges(
        self,
        edge_index: Tensor,
        dim_size: int,
        x: Tensor | None,
        edge_attr: Tensor | None = None,
        weight: Tensor | None = None,
        bias: Tensor | None = None,
        relu: bool = True,
        eps: float = 0.0,
    ) -> Tensor:
        """Lean aggregation of ``act(x_j + Linear(e_ji)) + eps`` over ``edge_index``
        (source row 0, target row 1), degree scaling included."""
        dst = edge_index[1]
        out = fused_aggregate(
            self,
            dst,
            dim_size,
            src=edge_index[0],
            x=x,
            edge_attr=edge_attr,
            weight=weight,
            bias=bias,
            relu=relu,
            eps=eps,
        )
        return self.scale(out, dst, dim_size)

    def _repr_args(self) -> list[str]:
        return []

    def __repr__(self) -> str:
        # Only what differs from PyG's aggregator of the same name is shown (its repr when
        # built the same way).
        args = self._repr_args()
        if not self.lean:
            args.append("lean=False")
        if self.chunk_size is not None:
            args.append(f"chunk_size={self.chunk_size}")
        return f"{self.__class__.__name__}({', '.join(args)})"


class DegreeScaled:
    r"""Mixin: multiply the aggregate by :math:`\deg(v)^{\sigma(y)}` (DeeperGCN's ``*_Sum``
    kinds; :math:`y` fixed or learned). Listed before an aggregation class
    (``class SoftmaxSumAggregation(DegreeScaled, SoftmaxAggregation)``), it takes the
    arguments below and passes the others to that class; ``reset_parameters`` and the
    ``repr`` cover :math:`y` as well.

    Args:
        y (float, optional): Initial :math:`y` (:math:`\sigma(0) = 0.5`). (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        y_channels (int, optional): ``1`` for a scalar :math:`y`, else one per channel.
            (default: ``1``)
        **kwargs: The arguments of the aggregation class.
    """

    y: Tensor | float

    def __init__(
        self, y: float = 0.0, learn_y: bool = False, y_channels: int = 1, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[call-arg]
        self._init_y = float(y)
        self.learn_y = learn_y
        self.y = LeanAggregation.learnable(y, learn_y, y_channels, "y")

    def reset_parameters(self) -> None:
        super().reset_parameters()  # type: ignore[misc]
        if isinstance(self.y, Tensor):
            self.y.data.fill_(self._init_y)

    def _repr_args(self) -> list[str]:
        return [*super()._repr_args(), f"learn_y={self.learn_y}"]  # type: ignore[misc]

    def scale(self, out: Tensor, index: Tensor, dim_size: int) -> Tensor:
        y = self.y
        if not isinstance(y, Tensor):
            y = torch.tensor(y, dtype=torch.float64, device=out.device)
        # deg >= 1 where it matters; isolated nodes aggregate to 0 whatever the factor.
        deg = degree(index, dim_size, out.dtype).clamp_min(1.0).unsqueeze(1)
        return out * deg.pow(torch.sigmoid(y).to(out.dtype))
