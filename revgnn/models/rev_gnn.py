r"""RevGNN: a deep GNN of grouped reversible pre-activation GENConv blocks."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GATConv, GCNConv, GINConv, GINEConv, SAGEConv
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from revgnn.aggr import LeanAggregation
from revgnn.block import PreActConv, norm_layer
from revgnn.dropout import SharedDropout
from revgnn.gen_conv import GENConv
from revgnn.reversible import GroupAddRev, ReversibleSequential, reset_module

#: Operators a RevGNN block can use (``conv`` argument).
CONVS = ("gen", "gat", "sage", "gcn", "gin", "mlp")


class NodeMLP(nn.Module):
    r"""Linear -> Norm -> ReLU -> Linear on each node, ignoring the graph: the ``"mlp"``
    operator of :class:`RevGNN` (a graph-free baseline with the same block structure).

    Args:
        channels (int): Input and output width.
        norm (str, optional): Normalisation of the hidden layer, or ``None``.
            (default: ``"batch"``)
        expansion (int, optional): Hidden width in multiples of ``channels``. (default: ``2``)

    Shapes:
        - **input:** node features :math:`(N, F)`; ``edge_index`` and keyword arguments are
          accepted and ignored.
        - **output:** :math:`(N, F)`
    """

    def __init__(self, channels: int, norm: str | None = "batch", expansion: int = 2) -> None:
        super().__init__()
        self.channels = channels
        hidden = channels * expansion
        norm_module = norm_layer(norm, hidden)
        layers: list[nn.Module] = [nn.Linear(channels, hidden)]
        if norm_module is not None:
            layers.append(norm_module)
        layers += [nn.ReLU(), nn.Linear(hidden, channels)]
        self.mlp = nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        reset_module(self.mlp)

    def forward(self, x: Tensor, edge_index: Any = None, **kwargs: Any) -> Tensor:
        return self.mlp(x)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.channels})"


def _gin_mlp(channels: int, norm: str | None) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(channels, channels)]
    norm_module = norm_layer(norm, channels)
    if norm_module is not None:
        layers.append(norm_module)
    layers += [nn.ReLU(), nn.Linear(channels, channels)]
    return nn.Sequential(*layers)


class RevGNN(nn.Module):
    r"""The RevGNN of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000
    Layers" <https://arxiv.org/abs/2106.07476>`_ (ICML 2021).

    .. math::

        \mathbf{H}_0 = \mathrm{Lin}(\mathbf{X}), \qquad
        \mathbf{H}_{l} = \mathrm{RevBlock}_l(\mathbf{H}_{l-1}, \mathbf{A}, \mathbf{U}), \qquad
        \mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(\mathbf{H}_L))))

    Each :math:`\mathrm{RevBlock}_l` is a :class:`~revgnn.GroupAddRev` with ``num_groups``
    groups whose group function is the res+ residual function
    Norm -> ReLU -> Dropout -> GENConv (:class:`~revgnn.PreActConv`), all stacked in one
    :class:`~revgnn.ReversibleSequential`, so activation memory does not grow with
    ``num_layers``. Edge features pass through one shared edge encoder
    (``Linear(edge_dim, hidden_channels)``) and reach every group unsplit; each GENConv maps
    them to its group width. With the defaults, ``hidden_channels=80``, ``num_layers=1001`` and
    ``edge_dim=8`` give RevGNN-Deep of the paper (20.03M parameters on ogbn-proteins).

    Dropout inside the blocks uses one mask per step shared by all layers
    (``shared_dropout=True``, as in the paper) or ordinary dropout in every block, which the
    reversible backward pass replays exactly; so does edge dropout (``edge_dropout``) and GAT's
    attention dropout.

    ``conv`` picks the operator of the blocks: ``"gen"`` (:class:`~revgnn.GENConv`, with the
    memory-lean aggregation when ``lean=True``), ``"gat"`` (multi-head
    :class:`~torch_geometric.nn.conv.GATConv`, ``heads`` heads of ``group // heads`` channels
    concatenated: RevGAT, the paper's ogbn-arxiv model, with RevGNN's linear encoder and head),
    ``"sage"``, ``"gcn"``, ``"gin"`` (GINE with edge features) and ``"mlp"``
    (:class:`NodeMLP`, no message passing). ``"sage"``, ``"gcn"`` and ``"mlp"`` take no edge
    features. The GENConv arguments (``aggr`` to ``learn_msg_scale``, ``mlp_layers``,
    ``lean``, ``chunk_size``) apply to ``"gen"`` only. With ``"gcn"`` the symmetric
    normalisation :math:`\hat{D}^{-1/2}(A + I)\hat{D}^{-1/2}` is computed once per forward
    pass and shared by every block and group (each block renormalises its own graph when
    ``edge_dropout > 0``).

    Args:
        in_channels (int): Input node feature size.
        hidden_channels (int): Width :math:`D` of the residual stream.
        out_channels (int): Output size (classes or tasks).
        num_layers (int): Number of reversible blocks :math:`L`.
        num_groups (int, optional): Groups per block :math:`C`; must divide
            ``hidden_channels``. (default: ``2``)
        edge_dim (int, optional): Edge feature size, or ``None`` for graphs without edge
            features. (default: ``None``)
        aggr (str, optional): GENConv aggregation (``"softmax"``, ``"softmax_sg"``,
            ``"softmax_sum"``, ``"power"``/``"powermean"``, ``"power_sum"``, ``"max"``,
            ``"mean"``, ``"sum"``/``"add"``; see :mod:`revgnn.aggr`), or an aggregator module
            (copied for every block). (default: ``"max"``)
        t (float, optional): Initial softmax inverse temperature. (default: ``1.0``)
        learn_t (bool, optional): Learn ``t``. (default: ``False``)
        p (float, optional): Initial power of the power mean. (default: ``1.0``)
        learn_p (bool, optional): Learn ``p``. (default: ``False``)
        mlp_layers (int, optional): Layers of GENConv's MLP. (default: ``2``)
        norm (str, optional): Normalisation of the blocks, of GENConv's MLP and of the output.
            (default: ``"batch"``)
        dropout (float, optional): Dropout inside the blocks and before the head.
            (default: ``0.1``)
        input_dropout (float, optional): Dropout on the input features. (default: ``0.0``)
        shared_dropout (bool, optional): One dropout mask per step for all blocks.
            (default: ``True``)
        weight_tied (bool, optional): One block's weights for all layers (WT-RevGNN).
            (default: ``False``)
        reversible (bool, optional): ``False`` runs the same weights and arithmetic with
            ordinary autograd (the non-reversible reference). (default: ``True``)
        stream_dtype (torch.dtype, optional): Dtype of the residual stream, see
            :class:`~revgnn.ReversibleSequential`. (default: ``torch.float64``)
        conv (str, optional): The operator, one of ``"gen"``, ``"gat"``, ``"sage"``,
            ``"gcn"``, ``"gin"``, ``"mlp"``. (default: ``"gen"``)
        heads (int, optional): GAT attention heads; must divide the group width.
            (default: ``1``)
        attn_dropout (float, optional): GAT attention dropout. (default: ``0.0``)
        edge_dropout (float, optional): Probability of dropping each edge in every block.
            (default: ``0.0``)
        y (float, optional): Initial :math:`y` of ``"softmax_sum"``/``"power_sum"``.
            (default: ``0.0``)
        learn_y (bool, optional): Learn ``y``. (default: ``False``)
        per_channel (bool, optional): Learned ``t``/``p``/``y`` per channel.
            (default: ``False``)
        msg_norm (bool, optional): MsgNorm in every GENConv. (default: ``False``)
        learn_msg_scale (bool, optional): Learn MsgNorm's scale. (default: ``False``)
        lean (bool, optional): Memory-lean GENConv aggregation: the per-edge messages are
            recomputed in the backward pass instead of kept, which lowers the working set of
            each block (the peak, once depth is free). (default: ``True``)
        chunk_size (int, optional): Edges per slice of the lean aggregation, or ``None``.
            (default: ``None``)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int,
        num_groups: int = 2,
        edge_dim: int | None = None,
        aggr: str | LeanAggregation = "max",
        t: float = 1.0,
        learn_t: bool = False,
        p: float = 1.0,
        learn_p: bool = False,
        mlp_layers: int = 2,
        norm: str = "batch",
        dropout: float = 0.1,
        input_dropout: float = 0.0,
        shared_dropout: bool = True,
        weight_tied: bool = False,
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
        conv: str = "gen",
        heads: int = 1,
        attn_dropout: float = 0.0,
        edge_dropout: float = 0.0,
        y: float = 0.0,
        learn_y: bool = False,
        per_channel: bool = False,
        msg_norm: bool = False,
        learn_msg_scale: bool = False,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if num_groups < 2:
            raise ValueError(f"num_groups={num_groups} must be at least 2")
        if hidden_channels % num_groups != 0:
            raise ValueError(
                f"num_groups={num_groups} must divide hidden_channels={hidden_channels}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must lie in [0, 1)")
        if not 0.0 <= input_dropout < 1.0:
            raise ValueError(f"input_dropout={input_dropout} must lie in [0, 1)")
        if conv not in CONVS:
            raise ValueError(f"conv={conv!r} is not one of {', '.join(CONVS)}")
        if edge_dim is not None and conv in ("sage", "gcn", "mlp"):
            raise ValueError(
                f"conv={conv!r} takes no edge features: build with edge_dim=None "
                f"(got edge_dim={edge_dim}) or use conv='gen', 'gat' or 'gin'"
            )
        if conv == "gat" and (heads < 1 or (hidden_channels // num_groups) % heads != 0):
            raise ValueError(
                f"heads={heads} must divide the group width hidden_channels // num_groups = "
                f"{hidden_channels // num_groups}"
            )
        if not 0.0 <= attn_dropout < 1.0:
            raise ValueError(f"attn_dropout={attn_dropout} must lie in [0, 1)")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_groups = num_groups
        self.edge_dim = edge_dim
        self.aggr = aggr
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.shared_dropout = shared_dropout
        self.conv = conv
        self.edge_dropout = edge_dropout
        # Without edge dropout every block sees the same graph: normalise it once, not in each
        # block and again in each backward recompute.
        self._gcn_norm_per_block = edge_dropout > 0.0

        group = hidden_channels // num_groups
        # The shared edge encoder's output reaches every group unsplit (a keyword argument).
        conv_edge_dim = hidden_channels if edge_dim is not None else None

        def group_conv() -> nn.Module:
            if conv == "gen":
                return GENConv(
                    group,
                    group,
                    aggr if isinstance(aggr, str) else copy.deepcopy(aggr),  # one per block
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
                    bias=True,
                    edge_dim=conv_edge_dim,
                    lean=lean,
                    chunk_size=chunk_size,
                )
            if conv == "gat":
                return GATConv(
                    group, group // heads, heads=heads, dropout=attn_dropout, edge_dim=conv_edge_dim
                )
            if conv == "sage":
                return SAGEConv(group, group)
            if conv == "gcn":
                return GCNConv(group, group, normalize=self._gcn_norm_per_block)
            if conv == "gin":
                if conv_edge_dim is not None:
                    return GINEConv(_gin_mlp(group, norm), edge_dim=conv_edge_dim)
                return GINConv(_gin_mlp(group, norm))
            return NodeMLP(group, norm)

        def group_block() -> PreActConv:
            return PreActConv(
                group_conv(),
                group,
                norm=norm,
                dropout=0.0 if shared_dropout else dropout,
                edge_dropout=edge_dropout,
            )

        def block() -> GroupAddRev:
            return GroupAddRev(group_block(), num_groups=num_groups)

        if weight_tied:
            self.layers = ReversibleSequential.weight_tied(
                block(), num_layers, reversible=reversible, stream_dtype=stream_dtype
            )
        else:
            self.layers = ReversibleSequential(
                [block() for _ in range(num_layers)],
                reversible=reversible,
                stream_dtype=stream_dtype,
            )
        self.node_encoder = nn.Linear(in_channels, hidden_channels)
        self.edge_encoder = nn.Linear(edge_dim, hidden_channels) if edge_dim is not None else None
        self.mask = SharedDropout(dropout) if shared_dropout else None
        self.norm = norm_layer(norm, hidden_channels)
        self.head = nn.Linear(hidden_channels, out_channels)

    @property
    def num_layers(self) -> int:
        return self.layers.num_layers

    @property
    def weight_tied(self) -> bool:
        return self.layers.tied_layers is not None

    @property
    def reversible(self) -> bool:
        return self.layers.reversible

    @reversible.setter
    def reversible(self, value: bool) -> None:
        self.layers.reversible = value

    def reset_parameters(self) -> None:
        self.node_encoder.reset_parameters()
        if self.edge_encoder is not None:
            self.edge_encoder.reset_parameters()
        self.layers.reset_parameters()
        reset_module(self.norm)
        self.head.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        if (edge_attr is None) != (self.edge_encoder is None):
            raise ValueError(
                "edge_attr must be given exactly when the model was built with edge_dim "
                f"(edge_dim={self.edge_dim}, edge_attr given: {edge_attr is not None})"
            )
        x = F.dropout(x, p=self.input_dropout, training=self.training)
        h = self.node_encoder(x)
        kwargs = {}
        if self.edge_encoder is not None:
            kwargs["edge_attr"] = self.edge_encoder(edge_attr)
        if self.conv == "gcn" and not self._gcn_norm_per_block:
            normed = gcn_norm(edge_index, None, h.size(0), add_self_loops=True, dtype=h.dtype)
            # A SparseTensor comes back alone, with the weights as its values.
            edge_index, weight = normed if isinstance(normed, tuple) else (normed, None)
            if weight is not None:
                kwargs["edge_weight"] = weight
        mask = self.mask(h) if self.mask is not None else None
        h = self.layers(h, edge_index, mask, **kwargs)
        h = F.relu(self.norm(h))
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.head(h)

    def __repr__(self) -> str:
        aggr = f"aggr={self.aggr!r}, " if self.conv == "gen" else ""
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, num_groups={self.num_groups}, "
            f"conv={self.conv!r}, {aggr}edge_dim={self.edge_dim}, "
            f"weight_tied={self.weight_tied}, reversible={self.reversible})"
        )
