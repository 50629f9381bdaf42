r"""DeeperGCN: the ResGCN+ of Li, Xiong, Thabet, Ghanem (2020)."""

from __future__ import annotations

import copy

import torch.nn.functional as F
from torch import Tensor, nn

from revgnn.aggr import LeanAggregation
from revgnn.block import BLOCKS, DeepGCNBlock, norm_layer
from revgnn.gen_conv import GENConv
from revgnn.reversible import reset_module


class DeeperGCN(nn.Module):
    r"""The DeeperGCN of Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper
    GCNs" <https://arxiv.org/abs/2006.07739>`_ (2020); with ``block="res+"`` the ResGCN+ of the
    paper.

    .. math::

        \mathbf{H}_0 = \mathrm{Lin}(\mathbf{X}), \quad
        \mathbf{H}_1 = \mathrm{GENConv}_1(\mathbf{H}_0), \quad
        \mathbf{H}_{l} = \mathbf{H}_{l-1} + \mathrm{GENConv}_l(\mathrm{Dropout}(\mathrm{ReLU}(
        \mathrm{Norm}(\mathbf{H}_{l-1})))), \quad
        \mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(\mathbf{H}_L))))

    The first layer is a bare GENConv, layers 2..L are res+ blocks
    (:class:`~revgnn.DeepGCNBlock`), and a final Norm -> ReLU -> Dropout precedes the linear
    head. With ``block="res"`` or ``"plain"`` every layer is conv -> norm -> ReLU (-> + input)
    -> dropout and the head follows directly (the authors' code); ``"dense"`` concatenates,
    the width growing by ``hidden_channels`` per layer. Edge features go through a shared edge
    encoder ``Linear(edge_dim, hidden_channels)`` and then through each GENConv's own encoder
    (``encode_edge``). The defaults are the paper's ogbn-proteins model: softmax aggregation
    with a learned :math:`\beta`, per-node LayerNorm, dropout 0.1; 112 layers of 64 channels
    with ``edge_dim=8`` and 112 tasks give its 2.37M parameters.

    Memory: the softmax/power aggregation uses the memory-lean path by default (``lean``),
    which keeps no :math:`E \times D` tensor per layer; activations still grow with depth
    (:math:`O(L N D)`): for depth-independent memory use :class:`~revgnn.models.RevGNN`.

    Args:
        in_channels (int): Input node feature size.
        hidden_channels (int): Width :math:`D`.
        out_channels (int): Output size (classes or tasks).
        num_layers (int): Number of GENConv layers :math:`L`.
        edge_dim (int, optional): Edge feature size, or ``None``. (default: ``None``)
        block (str, optional): ``"res+"``, ``"res"``, ``"dense"`` or ``"plain"``.
            (default: ``"res+"``)
        aggr (str or LeanAggregation, optional): GENConv aggregation (a name of
            :func:`revgnn.aggr.aggregation_resolver`). (default: ``"softmax"``)
        t (float, optional): Initial softmax inverse temperature. (default: ``1.0``)
        learn_t (bool, optional): Learn ``t``. (default: ``True``)
        p (float, optional): Initial power-mean power. (default: ``1.0``)
        learn_p (bool, optional): Learn ``p``. (default: ``False``)
        y (float, optional): Initial degree exponent logit of the ``*_sum`` aggregators.
            (default: ``0.0``)
        learn_y (bool, optional): Learn ``y``. (default: ``False``)
        per_channel (bool, optional): Learned aggregator parameters per channel.
            (default: ``False``)
        msg_norm (bool, optional): MsgNorm in every GENConv. (default: ``False``)
        learn_msg_scale (bool, optional): Learn MsgNorm's scale. (default: ``False``)
        mlp_layers (int, optional): Layers of GENConv's MLP. (default: ``2``)
        norm (str, optional): Normalisation of the blocks and of GENConv's MLP.
            (default: ``"layer"``)
        dropout (float, optional): Dropout in the blocks and before the head.
            (default: ``0.1``)
        edge_dropout (float, optional): Edge dropout in every block. (default: ``0.0``)
        encode_edge (bool, optional): Give every GENConv its own edge encoder.
            (default: ``True``)
        lean (bool, optional): Memory-lean aggregation. (default: ``True``)
        chunk_size (int, optional): Edges per slice of the lean aggregation.
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
        *,
        edge_dim: int | None = None,
        block: str = "res+",
        aggr: str | LeanAggregation = "softmax",
        t: float = 1.0,
        learn_t: bool = True,
        p: float = 1.0,
        learn_p: bool = False,
        y: float = 0.0,
        learn_y: bool = False,
        per_channel: bool = False,
        msg_norm: bool = False,
        learn_msg_scale: bool = False,
        mlp_layers: int = 2,
        norm: str = "layer",
        dropout: float = 0.1,
        edge_dropout: float = 0.0,
        encode_edge: bool = True,
        lean: bool = True,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if block not in BLOCKS:
            raise ValueError(f"block={block!r} is not one of {', '.join(BLOCKS)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must lie in [0, 1)")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.edge_dim = edge_dim
        self.block = block
        self.aggr = aggr
        self.dropout = dropout

        def conv(in_width: int) -> GENConv:
            return GENConv(
                in_width,
                hidden_channels,
                aggr if isinstance(aggr, str) else copy.deepcopy(aggr),  # one per layer
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
                edge_dim=hidden_channels if edge_dim is not None else None,
                encode_edge=encode_edge if edge_dim is not None else None,
                lean=lean,
                chunk_size=chunk_size,
            )

        def layer(i: int) -> nn.Module:
            if block == "res+":
                if i == 0:
                    return conv(hidden_channels)
                return DeepGCNBlock(
                    conv(hidden_channels),
                    hidden_channels,
                    "res+",
                    norm=norm,
                    dropout=dropout,
                    edge_dropout=edge_dropout,
                )
            # The authors' res/plain start with conv -> norm -> ReLU -> dropout.
            kind = "plain" if i == 0 else block
            width = hidden_channels * i if (block == "dense" and i > 0) else hidden_channels
            return DeepGCNBlock(
                conv(width),
                width,
                kind,
                norm=norm,
                dropout=dropout,
                edge_dropout=edge_dropout,
                out_channels=hidden_channels,
            )

        self.node_encoder = nn.Linear(in_channels, hidden_channels)
        self.edge_encoder = nn.Linear(edge_dim, hidden_channels) if edge_dim is not None else None
        self.layers = nn.ModuleList([layer(i) for i in range(num_layers)])
        self.norm = norm_layer(norm, hidden_channels) if block == "res+" else None
        head_width = hidden_channels * num_layers if block == "dense" else hidden_channels
        self.head = nn.Linear(head_width, out_channels)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def reset_parameters(self) -> None:
        self.node_encoder.reset_parameters()
        if self.edge_encoder is not None:
            self.edge_encoder.reset_parameters()
        for layer in self.layers:
            layer.reset_parameters()
        if self.norm is not None:
            reset_module(self.norm)
        self.head.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        if (edge_attr is None) != (self.edge_encoder is None):
            raise ValueError(
                "edge_attr must be given exactly when the model was built with edge_dim "
                f"(edge_dim={self.edge_dim}, edge_attr given: {edge_attr is not None})"
            )
        h = self.node_encoder(x)
        kwargs = {}
        if self.edge_encoder is not None:
            kwargs["edge_attr"] = self.edge_encoder(edge_attr)
        for layer in self.layers:
            h = layer(h, edge_index, **kwargs)
        if self.norm is not None:
            h = F.relu(self.norm(h))
            h = F.dropout(h, p=self.dropout, training=self.training)
        return self.head(h)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, block={self.block!r}, "
            f"aggr={self.aggr!r}, edge_dim={self.edge_dim})"
        )
