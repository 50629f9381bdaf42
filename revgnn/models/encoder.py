"""The input side every model shares: graph checks, node and edge encoders."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.aggr.segments import segments, sorted_segments_enabled
from revgnn.nn.conv.registry import Prepare
from revgnn.nn.dropout import dropout
from revgnn.nn.sparse_input import sparse_encode
from revgnn.utils.checks import boundary, check_edge_index, check_finite, check_probability

__all__ = ["NodeEncoder"]


def _check_dtype(name: str, features: Tensor | None, encoder: nn.Module | None) -> None:
    """Features a linear encoder reads are floating point, in its weights' dtype unless
    autocast casts them (it casts every float but float64; an OGB atom encoder reads
    integers: not checked here)."""
    if features is None or not isinstance(encoder, nn.Linear):
        return
    want = encoder.weight.dtype
    if not features.is_floating_point():
        raise TypeError(
            f"{name} must hold floating-point features, got {features.dtype}: convert it "
            f"with {name}.to({want})"
        )
    cast = torch.is_autocast_enabled(features.device.type) and features.dtype != torch.float64
    if features.dtype != want and not cast:
        raise TypeError(
            f"{name} is {features.dtype} but the model's weights are {want}: convert it with "
            f"{name}.to({want}), or the model with model.to({features.dtype})"
        )


class NodeEncoder(nn.Module):
    r"""Checks a graph once and encodes it for the layers of a model.

    .. math::

        \mathbf{H}_0 = \mathrm{Lin}(\mathrm{Dropout}(\mathbf{X})), \qquad
        \mathbf{U}_0 = \mathrm{Lin}(\mathbf{U})

    The edge encoder is shared by every layer (RevGNN, DeeperGCN). The inputs are checked at
    the model's boundary (:meth:`checked`): the edge index against the number of nodes once per
    graph (a clear error instead of an ``index out of range`` deep inside a conv; int32
    indices are widened), the features for NaN / inf once per call, and the layers inside
    do not check again (:func:`revgnn.utils.checks.boundary`); the edges (and their
    features) are put in target order, once per graph (:mod:`revgnn.nn.aggr.segments`, the
    order every aggregation reduces fastest in); ``prepare`` is graph preprocessing shared by
    every layer (GCN's normalisation), run once here. Features sparser than
    :data:`~revgnn.nn.sparse_input.SPARSE_INPUT` (bag-of-words) are encoded through a CSR
    copy, made once per tensor (:mod:`revgnn.nn.sparse_input`). A model whose layers carry
    PyG's explain masks (``explain=True``) keeps the edges in their order and has ``prepare``
    keep one entry per edge (``per_edge=True``), so each mask entry scales its own edge's
    messages (:mod:`revgnn.nn.conv.propagate_hooks`).

    Args:
        in_channels (int): Node feature size.
        hidden_channels (int): Output width of both encoders.
        edge_dim (int, optional): Edge feature size, or ``None`` (no edge encoder).
        input_dropout (float, optional): Dropout on the node features. (default: ``0.0``)
        prepare (callable, optional): ``prepare(edge_index, num_nodes, dtype) ->
            (edge_index, kwargs)``, see :class:`~revgnn.nn.conv.ConvSpec`.

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)` or a
          sparse adjacency, edge features :math:`(E, F_{edge})` exactly when ``edge_dim`` is
          set.
        - **output:** ``(h, edge_index, kwargs)``: :math:`(N, D)`, the checked edge index, and
          the keyword arguments of every layer (``edge_attr``: :math:`(E, D)`, and what
          ``prepare`` adds).
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        edge_dim: int | None = None,
        input_dropout: float = 0.0,
        prepare: Prepare | None = None,
    ) -> None:
        super().__init__()
        check_probability("input_dropout", input_dropout)
        self.in_channels = in_channels
        self.out_channels = hidden_channels
        self.edge_dim = edge_dim
        self.input_dropout = input_dropout
        self.prepare = prepare
        self.node = nn.Linear(in_channels, hidden_channels)
        self.edge = nn.Linear(edge_dim, hidden_channels) if edge_dim is not None else None

    def reset_parameters(self) -> None:
        for m in (self.node, self.edge):
            if m is not None and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    @contextlib.contextmanager
    def checked(
        self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None, explain: bool = False
    ) -> Iterator[tuple[Tensor, Any, dict[str, Any]]]:
        """Encode the model's input and run the model's layers inside the context: the input is
        checked here once, and the layers, nested in the boundary, skip their own checks.
        ``explain``: the model's layers carry explain masks (see :meth:`forward`)."""
        with boundary() as outermost:
            if outermost:
                what = "the model needs finite input (check the data and its preprocessing)"
                check_finite("x", x, what)
                check_finite("edge_attr", edge_attr, what)
            yield self(x, edge_index, edge_attr, explain)

    def forward(
        self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None, explain: bool = False
    ) -> tuple[Tensor, Any, dict[str, Any]]:
        if x.dim() != 2 or x.size(-1) != self.in_channels:
            raise ValueError(
                f"x must have shape [num_nodes, {self.in_channels}] (in_channels), "
                f"got {list(x.shape)}"
            )
        _check_dtype("x", x, self.node)
        _check_dtype("edge_attr", edge_attr, self.edge)
        edge_index = check_edge_index(edge_index, x.size(0))
        self._check_edge_attr(edge_attr, edge_index)
        if (
            isinstance(edge_index, Tensor)
            and edge_index.layout == torch.strided
            and edge_index.numel()
            and sorted_segments_enabled()
            and not explain
        ):
            # Every layer aggregates over the edges in target order (one sort per graph,
            # cached): edge features are permuted here, once, rather than in every layer.
            seg = segments(edge_index[1], x.size(0), edge_index[0])
            if seg.perm is not None and edge_attr is not None:
                edge_attr = edge_attr.index_select(0, seg.perm)
            edge_index = seg.sorted_edge_index(edge_index)
        # Bag-of-words: only the non-zeros are dropped and multiplied.
        h = sparse_encode(x, self.node, self.input_dropout, self.training)
        if h is None:
            if x.layout != torch.strided:  # sparse features that need their own gradient
                x = x.to_dense()
            if self.input_dropout > 0.0 and x.is_floating_point():
                x = dropout(x, p=self.input_dropout, training=self.training)
            h = self.node(x)
        kwargs: dict[str, Any] = {}
        if self.edge is not None:
            kwargs["edge_attr"] = self.edge(edge_attr)
        if self.prepare is not None:
            # An explain mask has one entry per given edge, in the given order.
            options = {"per_edge": True} if explain else {}
            edge_index, extra = self.prepare(edge_index, h.size(0), h.dtype, **options)
            kwargs.update(extra)
        return h, edge_index, kwargs

    def _check_edge_attr(self, edge_attr: Tensor | None, edge_index: Any) -> None:
        if (edge_attr is None) != (self.edge is None):
            raise ValueError(
                "edge_attr must be given exactly when the model was built with edge_dim "
                f"(edge_dim={self.edge_dim}, edge_attr given: {edge_attr is not None})"
            )
        if edge_attr is None:
            return
        # A replaced edge path (GraphPredictor's BondEncoder) checks its own input.
        width = self.edge.in_features if isinstance(self.edge, nn.Linear) else None
        if width is not None and (edge_attr.dim() != 2 or edge_attr.size(1) != width):
            hint = " (one weight per edge: edge_attr.view(-1, 1))" if edge_attr.dim() == 1 else ""
            raise ValueError(
                f"edge_attr must have shape [num_edges, {width}] (edge_dim), got "
                f"{list(edge_attr.shape)}{hint}"
            )
        if isinstance(edge_index, Tensor) and edge_attr.size(0) != edge_index.size(-1):
            raise ValueError(
                f"edge_attr has {edge_attr.size(0)} rows but edge_index has "
                f"{edge_index.size(-1)} edges"
            )
