r"""GENConv, the generalized graph convolution of DeeperGCN.

.. math::

    \mathbf{m}_{vu} = \mathrm{ReLU}(\mathbf{h}_u + \mathrm{Enc}(\mathbf{e}_{vu})) + \epsilon,
    \qquad
    \mathbf{m}_v = \mathrm{AGG}(\{\mathbf{m}_{vu} : u \in \mathcal{N}(v)\}),

.. math::

    \mathbf{h}'_v = \mathrm{MLP}(\mathbf{h}_v + \mathrm{MsgNorm}(\mathbf{h}_v, \mathbf{m}_v)),
    \qquad
    \mathrm{MsgNorm}(\mathbf{h}_v, \mathbf{m}_v) = s \, \|\mathbf{h}_v\|_2 \,
    \frac{\mathbf{m}_v}{\|\mathbf{m}_v\|_2}.

Paper: Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper GCNs"
<https://arxiv.org/abs/2006.07739>`_, 2020.

Built on PyG's :class:`~torch_geometric.nn.conv.MessagePassing` (the plain path propagates
through it) and :class:`~torch_geometric.nn.norm.MessageNorm`, with PyG's signature and call
conventions (a drop-in for :class:`torch_geometric.nn.GENConv`: bipartite ``(x_src, x_dst)``
inputs with ``in_channels`` a tuple, lazy ``-1`` sizes, a list of aggregators, a sparse
``adj_t`` whose values are the edge features, ``edge_attr`` and ``size`` positional).
Differences from PyG's :class:`~torch_geometric.nn.conv.GENConv` and from the authors' code
(docs/pyg_compat.md lists them all):

* Aggregators come from :mod:`revgnn.nn.aggr`: the memory-lean path by default, the PowerMean
  without PyG's clamp of the mean of powers, SoftMax_Sum / PowerMean_Sum (not in PyG), and
  per-channel learned parameters via ``per_channel``.
* With ``lean=True`` the edge encoder, the message function and the aggregation run as one
  autograd node that keeps no :math:`E \times D` tensor (see
  :func:`revgnn.nn.aggr.fused_aggregate`). Explain masks, hooks on ``propagate``'s steps and
  ``decomposed_layers > 1`` run inside PyG's ``propagate``, so a conv with any of them
  propagates (:mod:`revgnn.nn.conv.propagate_hooks`). A sparse adjacency is read as its edge
  list for that path; ``lean=False`` propagates through it as PyG does.
* The edge encoder: PyG adds a ``Linear(edge_dim, out_channels)`` only when
  ``edge_dim != out_channels``; the original code adds one whenever ``encode_edge`` is set
  (ogbn-proteins' ``--conv_encode_edge``). ``encode_edge=None`` follows PyG, ``True`` the
  original.
* ``bias=True`` by default (the original's ``nn.Linear``; PyG's GENConv defaults to no bias).
* The MLP's normalisation accepts any name of :func:`revgnn.nn.norm.norm_layer`; ``"layer"`` is
  a per-node LayerNorm, as in the original code (PyG's resolver would give a graph-wise one).
* The graph is checked (shape, integer dtype, node range, once per edge index) and the node
  features for NaN / inf, unless :func:`revgnn.set_validation` turned checks off.
"""

from __future__ import annotations

import copy
from typing import Any

from torch import Tensor, nn
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.dense.linear import Linear, is_uninitialized_parameter
from torch_geometric.nn.norm import MessageNorm

from revgnn.nn.aggr import AGGREGATIONS, LeanAggregation, MultiAggregation, aggregation_resolver
from revgnn.nn.conv.propagate_hooks import needs_propagate
from revgnn.nn.conv.registry import register_conv
from revgnn.nn.norm import norm_layer
from revgnn.utils.checks import boundary, check_finite, check_graph, is_sparse_adjacency
from revgnn.utils.modules import reset_module
from revgnn.utils.registry import normalize
from revgnn.utils.sparse import edge_list

__all__ = ["GENConv", "gen"]

Pair = tuple[Tensor, Tensor | None]


def _mlp(channels: list[int], norm: str | None, bias: bool) -> nn.Sequential:
    # PyG's GENConv MLP, module for module (Linear, Norm, ReLU, Dropout(0) per hidden layer,
    # BatchNorm1d itself for "batch"), so that the state dicts of the two convs load into
    # each other.
    layers: list[nn.Module] = []
    for i in range(1, len(channels)):
        layers.append(nn.Linear(channels[i - 1], channels[i], bias=bias))
        if i < len(channels) - 1:
            batch = isinstance(norm, str) and normalize(norm) in ("batch", "batchnorm")
            n = nn.BatchNorm1d(channels[i]) if batch else norm_layer(norm, channels[i])
            if n is not None:
                layers.append(n)
            layers += [nn.ReLU(), nn.Dropout(0.0)]
    return nn.Sequential(*layers)


def _materialise(lin: Linear | None, like: Tensor | None) -> None:
    # A lazy (-1) Linear learns its input size on its first call; the lean path reads the
    # weight without calling it.
    if lin is not None and like is not None and is_uninitialized_parameter(lin.weight):
        lin(like[:1])


def _aggr_names(aggr: str | list | tuple) -> str | list | tuple:
    """The registered spelling of an aggregator's name, or of each in a list (modules kept)."""
    if isinstance(aggr, str):
        return AGGREGATIONS.canonical(aggr)
    return type(aggr)(_aggr_names(a) if isinstance(a, str) else a for a in aggr)


class GENConv(MessagePassing):
    r"""The GENeralized graph convolution of DeeperGCN (see the module docstring).

    Args:
        in_channels (int or tuple): Input node feature size, or ``(source, target)`` sizes of
            a bipartite graph; ``-1`` infers it on the first call. When it differs from
            ``out_channels`` the features are first mapped to it by linear layers.
        out_channels (int): Output node feature size.
        aggr (str, list or LeanAggregation, optional): ``"softmax"``, ``"softmax_sg"``,
            ``"softmax_sum"``, ``"power"`` (``"powermean"``), ``"power_sum"``, ``"mean"``,
            ``"max"``, ``"sum"`` (``"add"``), an aggregator module, or a list of them (a
            :class:`~revgnn.nn.aggr.MultiAggregation`, combined by
            ``aggr_kwargs={"mode": ...}``, ``"cat"`` by default, then mapped back to
            ``out_channels``). (default: ``"softmax"``)
        t (float, optional): Initial softmax inverse temperature :math:`\beta`.
            (default: ``1.0``)
        learn_t (bool, optional): Learn :math:`\beta`. (default: ``False``)
        p (float, optional): Initial power of the power mean. (default: ``1.0``)
        learn_p (bool, optional): Learn :math:`p`. (default: ``False``)
        msg_norm (bool, optional): Apply MsgNorm. (default: ``False``)
        learn_msg_scale (bool, optional): Learn MsgNorm's scale :math:`s`.
            (default: ``False``)
        norm (str, optional): Normalisation inside the MLP, or ``None``. (default:
            ``"batch"``)
        num_layers (int, optional): Linear layers of the MLP. (default: ``2``)
        expansion (int, optional): Hidden width of the MLP, in multiples of
            ``out_channels``. (default: ``2``)
        eps (float, optional): :math:`\epsilon` added to every message. (default: ``1e-7``)
        bias (bool, optional): Biases in the linear layers. (default: ``True``)
        edge_dim (int, optional): Edge feature size (``-1``: inferred), or ``None`` (edge
            features, if given, must then have ``out_channels`` columns). (default: ``None``)
        y (float, optional): Initial :math:`y` of the ``*_sum`` aggregators (scale
            :math:`\deg^{\sigma(y)}`). (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        per_channel (bool, optional): Learned :math:`\beta`, :math:`p`, :math:`y` are vectors
            of length ``out_channels`` instead of scalars. (default: ``False``)
        encode_edge (bool, optional): Add the edge encoder
            ``Linear(edge_dim, out_channels)``: ``None`` when ``edge_dim != out_channels``
            (PyG), ``True`` whenever ``edge_dim`` is given (the original code).
            (default: ``None``)
        lean (bool, optional): Use the memory-lean aggregation path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path, or ``None`` for all.
            (default: ``None``)
        aggr_kwargs (dict, optional): Options of the aggregator (as PyG's ``MessagePassing``
            takes them; for a list, those of :class:`~revgnn.nn.aggr.MultiAggregation`).

    Shapes:
        - **input:** node features :math:`(N, F_{in})` or a bipartite pair
          :math:`((N_s, F_s), (N_t, F_t))` (``x_dst`` may be ``None``, with ``size``), edge
          indices :math:`(2, E)` (int64 or int32) or a sparse adjacency ``adj_t``
          :math:`(N_t, N_s)` (its values, if 2-D, are the edge features), edge features
          :math:`(E, F_{edge})` *(optional)*, ``size`` :math:`(N_s, N_t)` *(optional)*
        - **output:** node features :math:`(N, F_{out})` or :math:`(N_t, F_{out})`
    """

    def __init__(
        self,
        in_channels: int | tuple[int, int],
        out_channels: int,
        aggr: str | list[str] | LeanAggregation = "softmax",
        t: float = 1.0,
        learn_t: bool = False,
        p: float = 1.0,
        learn_p: bool = False,
        msg_norm: bool = False,
        learn_msg_scale: bool = False,
        norm: str | None = "batch",
        num_layers: int = 2,
        expansion: int = 2,
        eps: float = 1e-7,
        bias: bool = True,
        edge_dim: int | None = None,
        *,
        y: float = 0.0,
        learn_y: bool = False,
        per_channel: bool = False,
        encode_edge: bool | None = None,
        lean: bool = True,
        chunk_size: int | None = None,
        aggr_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if expansion < 1:
            raise ValueError(f"expansion={expansion} must be at least 1")
        if out_channels < 1:
            raise ValueError(f"out_channels={out_channels} must be a positive integer")
        if encode_edge and edge_dim is None:
            raise ValueError("encode_edge=True needs edge_dim (the edge feature size)")
        options = dict(
            t=t,
            learn_t=learn_t,
            p=p,
            learn_p=learn_p,
            y=y,
            learn_y=learn_y,
            channels=out_channels if per_channel else 1,
            lean=lean,
            chunk_size=chunk_size,
        )
        if isinstance(aggr, (list, tuple)):
            aggr_module: nn.Module = MultiAggregation(
                list(aggr), [options] * len(aggr), **(aggr_kwargs or {})
            )
        elif isinstance(aggr, str) and aggr_kwargs is not None:
            # PyG's convention: aggr_kwargs are the aggregator class's own arguments.
            aggr_module = AGGREGATIONS.build(aggr, **aggr_kwargs)
        else:
            aggr_module = aggregation_resolver(aggr, **options)
        super().__init__(aggr=aggr_module)
        self.aggr = _aggr_names(aggr) if isinstance(aggr, (str, list, tuple)) else aggr_module
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.edge_dim = edge_dim
        self.eps = eps
        src, dst = in_channels if isinstance(in_channels, tuple) else (in_channels,) * 2
        for size in (src, dst):
            if size == 0 or size < -1:
                raise ValueError(f"in_channels={in_channels!r} must be positive, or -1 (lazy)")
        if encode_edge is None:
            encode_edge = edge_dim is not None and edge_dim != out_channels
        # PyG's order of the modules (and of their parameters): its optimiser states index
        # them by position.
        self.lin_src = Linear(src, out_channels, bias) if src != out_channels else None
        self.lin_edge = Linear(edge_dim, out_channels, bias) if encode_edge else None
        aggr_out = (
            aggr_module.get_out_channels(out_channels)
            if isinstance(aggr_module, MultiAggregation)
            else out_channels
        )
        self.lin_aggr_out = (
            Linear(aggr_out, out_channels, bias) if aggr_out != out_channels else None
        )
        self.lin_dst = Linear(dst, out_channels, bias) if dst != out_channels else None
        widths = [out_channels] + [out_channels * expansion] * (num_layers - 1) + [out_channels]
        self.mlp = _mlp(widths, norm, bias)
        self.msg_norm = MessageNorm(learn_msg_scale) if msg_norm else None

    @property
    def lean(self) -> bool:
        return self.aggr_module.lean

    @lean.setter
    def lean(self, value: bool) -> None:
        self.aggr_module.lean = value

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for module in (self.lin_src, self.lin_dst, self.lin_edge, self.lin_aggr_out, self.msg_norm):
            if module is not None:
                module.reset_parameters()
        reset_module(self.mlp)

    def forward(
        self,
        x: Tensor | Pair,
        edge_index: Any,
        edge_attr: Tensor | None = None,
        size: tuple[int, int] | None = None,
    ) -> Tensor:
        x_src, x_dst = x if isinstance(x, (tuple, list)) else (x, x)
        num_src = x_src.size(0)
        if x_dst is not None:
            num_dst = x_dst.size(0)
        elif size is not None:
            num_dst = size[1]
        elif is_sparse_adjacency(edge_index):  # adj_t: its rows are the targets
            num_dst = int(
                edge_index.size(0) if isinstance(edge_index, Tensor) else edge_index.sizes()[0]
            )
        else:
            num_dst = num_src
        if size is not None and (size[0] != num_src or size[1] != num_dst):
            raise ValueError(
                f"size={tuple(size)} does not match the node features: {num_src} source and "
                f"{num_dst} target nodes"
            )
        with boundary() as outermost:
            if outermost:
                check_finite("x", x_src, "GENConv needs finite node features")
                if x_dst is not None and x_dst is not x_src:
                    check_finite("x_dst", x_dst, "GENConv needs finite node features")
            edge_index = check_graph(edge_index, num_src, num_dst)
            sparse = is_sparse_adjacency(edge_index)
            lean = self.aggr_module.lean and not needs_propagate(self)
            if sparse:
                if edge_attr is not None:
                    raise ValueError(
                        "edge_attr needs edge_index as a [2, E] tensor (its rows follow the "
                        "edges' order); a sparse adjacency carries its edge features as values"
                    )
                if lean or not isinstance(edge_index, Tensor):
                    edge_index, values = edge_list(edge_index)
                    edge_attr = values if values is not None and values.dim() == 2 else None
            self._check_edge_attr(edge_attr)
            _materialise(self.lin_src, x_src)
            _materialise(self.lin_dst, x_dst)
            _materialise(self.lin_edge, edge_attr)
            h = self.lin_src(x_src) if self.lin_src is not None else x_src
            if lean or not sparse:
                m = self._lean_or_plain(h, x_dst, edge_index, edge_attr, num_dst, lean)
            else:  # a torch.sparse adj_t on the plain path: PyG's propagate reads its values
                m = self._propagate(edge_index, h, x_dst, None, None)
            return self._update(m, x_src, x_dst)

    def _check_edge_attr(self, edge_attr: Tensor | None) -> None:
        if edge_attr is None:
            return
        lazy = self.lin_edge is not None and self.edge_dim == -1
        width = self.edge_dim if self.lin_edge is not None else self.out_channels
        if not lazy and edge_attr.size(-1) != width:
            raise ValueError(
                f"edge_attr has {edge_attr.size(-1)} features but this GENConv expects "
                f"{width} (edge_dim={self.edge_dim}, out_channels={self.out_channels})"
            )

    def _lean_or_plain(
        self,
        h: Tensor,
        x_dst: Tensor | None,
        edge_index: Tensor,
        edge_attr: Tensor | None,
        n: int,
        lean: bool,
    ) -> Tensor:
        if edge_attr is not None and edge_attr.size(0) != edge_index.size(1):
            raise ValueError(
                f"edge_attr has {edge_attr.size(0)} rows but edge_index has "
                f"{edge_index.size(1)} edges"
            )
        if not lean:
            return self.propagate(
                edge_index, x=(h, x_dst), edge_attr=edge_attr, size=(h.size(0), n)
            )
        lin = self.lin_edge
        return self.aggr_module.aggregate_edges(
            edge_index,
            n,
            h,
            edge_attr,
            weight=lin.weight if lin is not None else None,
            bias=lin.bias if lin is not None else None,
            relu=True,
            eps=self.eps,
        )

    def _propagate(
        self,
        edge_index: Any,
        h: Tensor,
        x_dst: Tensor | None,
        edge_attr: Tensor | None,
        size: tuple[int, int] | None,
    ) -> Tensor:
        # PyG derives propagate's signature from its one call in the class's source.
        return self.propagate(edge_index, x=(h, x_dst), edge_attr=edge_attr, size=size)

    def _update(self, m: Tensor, x_src: Tensor, x_dst: Tensor | None) -> Tensor:
        if self.lin_aggr_out is not None:
            m = self.lin_aggr_out(m)
        if self.msg_norm is not None:
            m = self.msg_norm(x_dst if x_dst is not None else x_src, m)
        if x_dst is not None:
            m = m + (self.lin_dst(x_dst) if self.lin_dst is not None else x_dst)
        return self.mlp(m)

    def message(self, x_j: Tensor, edge_attr: Tensor | None) -> Tensor:
        msg = x_j
        if edge_attr is not None:
            e = self.lin_edge(edge_attr) if self.lin_edge is not None else edge_attr
            msg = msg + e
        return msg.relu() + self.eps

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, aggr={self.aggr})"
        )


def _gen(in_channels: int, out_channels: int, edge_dim: int | None, **options: Any) -> GENConv:
    """A :class:`GENConv` (its MLP depth ``num_layers`` is the option ``mlp_layers``); an
    aggregator module given as ``aggr`` is copied, so that every conv learns its own
    parameters."""
    if "mlp_layers" in options:
        options["num_layers"] = options.pop("mlp_layers")
    aggr = options.get("aggr")
    if isinstance(aggr, nn.Module):
        options["aggr"] = copy.deepcopy(aggr)
    return GENConv(in_channels, out_channels, edge_dim=edge_dim, **options)


_gen.renames = {"num_layers": "mlp_layers"}  # type: ignore[attr-defined]
gen = register_conv("gen", forwards_to=GENConv)(_gen)
