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
through it) and :class:`~torch_geometric.nn.norm.MessageNorm`. Differences from PyG's
:class:`~torch_geometric.nn.conv.GENConv` and from the authors' code:

* Aggregators come from :mod:`revgnn.nn.aggr`: the memory-lean path by default, the PowerMean
  without PyG's clamp of the mean of powers, SoftMax_Sum / PowerMean_Sum (not in PyG), and
  per-channel learned parameters via ``per_channel``.
* With ``lean=True`` (and a ``[2, E]`` edge index) the edge encoder, the message function and
  the aggregation run as one autograd node that keeps no :math:`E \times D` tensor (see
  :func:`revgnn.nn.aggr.fused_aggregate`); PyG's propagate hooks and explain masks are not
  applied on that path. A sparse adjacency (``adj_t``, as PyG's examples pass it) is read as
  its edge list for that path; ``lean=False`` propagates through it as PyG does.
* The edge encoder: PyG adds a ``Linear(edge_dim, out_channels)`` only when
  ``edge_dim != out_channels``; the original code adds one whenever ``encode_edge`` is set
  (ogbn-proteins' ``--conv_encode_edge``). ``encode_edge=None`` follows PyG, ``True`` the
  original.
* ``bias=True`` by default (the original's ``nn.Linear``; PyG's GENConv defaults to no bias).
* The MLP's normalisation accepts any name of :func:`revgnn.nn.norm.norm_layer`; ``"layer"`` is
  a per-node LayerNorm, as in the original code (PyG's resolver would give a graph-wise one).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.norm import MessageNorm
from torch_geometric.utils import to_edge_index

from revgnn.nn.aggr import LeanAggregation, aggregation_resolver
from revgnn.nn.conv.registry import register_conv
from revgnn.nn.norm import norm_layer
from revgnn.utils.checks import is_sparse_adjacency
from revgnn.utils.modules import reset_module

__all__ = ["GENConv", "gen"]


def _edge_list(adj_t: Any) -> Tensor:
    # A transposed adjacency (PyG's adj_t) has targets as rows and sources as columns.
    if isinstance(adj_t, Tensor):
        index, _ = to_edge_index(adj_t)
        return index.flip(0)
    row, col, _ = adj_t.coo()
    return torch.stack([col, row])


def _mlp(channels: list[int], norm: str | None, bias: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(1, len(channels)):
        layers.append(nn.Linear(channels[i - 1], channels[i], bias=bias))
        if i < len(channels) - 1:
            n = norm_layer(norm, channels[i])
            if n is not None:
                layers.append(n)
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class GENConv(MessagePassing):
    r"""The GENeralized graph convolution of DeeperGCN (see the module docstring).

    Args:
        in_channels (int): Input node feature size.
        out_channels (int): Output node feature size. When it differs from ``in_channels``
            the source and target features are first mapped to it by linear layers.
        aggr (str or LeanAggregation, optional): ``"softmax"``, ``"softmax_sg"``,
            ``"softmax_sum"``, ``"power"`` (``"powermean"``), ``"power_sum"``, ``"mean"``,
            ``"max"``, ``"sum"`` (``"add"``), or an aggregator module. (default:
            ``"softmax"``)
        t (float, optional): Initial softmax inverse temperature :math:`\beta`.
            (default: ``1.0``)
        learn_t (bool, optional): Learn :math:`\beta`. (default: ``False``)
        p (float, optional): Initial power of the power mean. (default: ``1.0``)
        learn_p (bool, optional): Learn :math:`p`. (default: ``False``)
        y (float, optional): Initial :math:`y` of the ``*_sum`` aggregators (scale
            :math:`\deg^{\sigma(y)}`). (default: ``0.0``)
        learn_y (bool, optional): Learn :math:`y`. (default: ``False``)
        per_channel (bool, optional): Learned :math:`\beta`, :math:`p`, :math:`y` are vectors
            of length ``out_channels`` instead of scalars. (default: ``False``)
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
        edge_dim (int, optional): Edge feature size, or ``None`` (edge features, if given,
            must then have ``out_channels`` columns). (default: ``None``)
        encode_edge (bool, optional): Add the edge encoder
            ``Linear(edge_dim, out_channels)``: ``None`` when ``edge_dim != out_channels``
            (PyG), ``True`` whenever ``edge_dim`` is given (the original code).
            (default: ``None``)
        lean (bool, optional): Use the memory-lean aggregation path. (default: ``True``)
        chunk_size (int, optional): Edges per slice in the lean path, or ``None`` for all.
            (default: ``None``)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)` (int64 or
          int32) or a sparse adjacency ``adj_t`` :math:`(N, N)`, edge features
          :math:`(E, F_{edge})` *(optional, with edge indices only)*
        - **output:** node features :math:`(N, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        aggr: str | LeanAggregation = "softmax",
        *,
        t: float = 1.0,
        learn_t: bool = False,
        p: float = 1.0,
        learn_p: bool = False,
        y: float = 0.0,
        learn_y: bool = False,
        per_channel: bool = False,
        msg_norm: bool = False,
        learn_msg_scale: bool = False,
        norm: str | None = "batch",
        num_layers: int = 2,
        expansion: int = 2,
        eps: float = 1e-7,
        bias: bool = True,
        edge_dim: int | None = None,
        encode_edge: bool | None = None,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> None:
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if expansion < 1:
            raise ValueError(f"expansion={expansion} must be at least 1")
        if encode_edge and edge_dim is None:
            raise ValueError("encode_edge=True needs edge_dim (the edge feature size)")
        aggr_module = aggregation_resolver(
            aggr,
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
        super().__init__(aggr=aggr_module)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.edge_dim = edge_dim
        self.eps = eps
        if encode_edge is None:
            encode_edge = edge_dim is not None and edge_dim != out_channels
        self.lin_src = (
            nn.Linear(in_channels, out_channels, bias) if in_channels != out_channels else None
        )
        self.lin_dst = (
            nn.Linear(in_channels, out_channels, bias) if in_channels != out_channels else None
        )
        self.lin_edge = nn.Linear(edge_dim, out_channels, bias) if encode_edge else None
        self.msg_norm = MessageNorm(learn_msg_scale) if msg_norm else None
        widths = [out_channels] + [out_channels * expansion] * (num_layers - 1) + [out_channels]
        self.mlp = _mlp(widths, norm, bias)

    @property
    def lean(self) -> bool:
        return self.aggr_module.lean

    @lean.setter
    def lean(self, value: bool) -> None:
        self.aggr_module.lean = value

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for module in (self.lin_src, self.lin_dst, self.lin_edge, self.msg_norm):
            if module is not None:
                module.reset_parameters()
        reset_module(self.mlp)

    def forward(self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None) -> Tensor:
        if edge_attr is not None:
            width = self.edge_dim if self.lin_edge is not None else self.out_channels
            if edge_attr.size(-1) != width:
                raise ValueError(
                    f"edge_attr has {edge_attr.size(-1)} features but this GENConv expects "
                    f"{width} (edge_dim={self.edge_dim}, out_channels={self.out_channels})"
                )
        sparse = is_sparse_adjacency(edge_index)
        if sparse and edge_attr is not None:
            raise ValueError(
                "edge_attr needs edge_index as a [2, E] tensor (its rows follow the edges' "
                "order); a sparse adjacency carries no edge order"
            )
        if not sparse and isinstance(edge_index, Tensor) and edge_index.dtype != torch.long:
            edge_index = edge_index.long()
        h = self.lin_src(x) if self.lin_src is not None else x
        if self.aggr_module.lean:
            if sparse:
                edge_index = _edge_list(edge_index)
            m = self.aggr_module.aggregate_edges(
                edge_index,
                x.size(0),
                h,
                edge_attr,
                weight=self.lin_edge.weight if self.lin_edge is not None else None,
                bias=self.lin_edge.bias if self.lin_edge is not None else None,
                relu=True,
                eps=self.eps,
            )
        else:
            m = self.propagate(edge_index, x=h, edge_attr=edge_attr, size=None)
        if self.msg_norm is not None:
            m = self.msg_norm(x, m)
        x_dst = self.lin_dst(x) if self.lin_dst is not None else x
        return self.mlp(x_dst + m)

    def message(self, x_j: Tensor, edge_attr: Tensor | None) -> Tensor:
        msg = x_j
        if edge_attr is not None:
            e = self.lin_edge(edge_attr) if self.lin_edge is not None else edge_attr
            msg = msg + e
        return msg.relu() + self.eps

    def __repr__(self) -> str:
        extra = ""
        if self.edge_dim is not None:
            extra += f", edge_dim={self.edge_dim}"
        if self.msg_norm is not None:
            extra += ", msg_norm=True"
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"aggr={self.aggr_module}{extra})"
        )


@register_conv("gen")
def gen(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    aggr: str | LeanAggregation = "softmax",
    t: float = 1.0,
    learn_t: bool = False,
    p: float = 1.0,
    learn_p: bool = False,
    y: float = 0.0,
    learn_y: bool = False,
    per_channel: bool = False,
    msg_norm: bool = False,
    learn_msg_scale: bool = False,
    norm: str | None = "batch",
    mlp_layers: int = 2,
    expansion: int = 2,
    eps: float = 1e-7,
    encode_edge: bool | None = None,
    lean: bool = True,
    chunk_size: int | None = None,
) -> GENConv:
    """A :class:`GENConv` (``mlp_layers`` is its ``num_layers``); an aggregator module given
    as ``aggr`` is copied, so that every conv learns its own parameters."""
    return GENConv(
        in_channels,
        out_channels,
        aggr if isinstance(aggr, str) else copy.deepcopy(aggr),
        t=t,
        learn_t=learn_t,
        p=p,
        learn_p=learn_p,
        y=y,
        learn_y=learn_y,
        per_channel=per_channel,
        msg_norm=msg_norm,
        learn_msg_scale=learn_msg_scale,
        norm=norm,
        num_layers=mlp_layers,
        expansion=expansion,
        eps=eps,
        edge_dim=edge_dim,
        encode_edge=encode_edge,
        lean=lean,
        chunk_size=chunk_size,
    )
