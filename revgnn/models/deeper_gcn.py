r"""DeeperGCN: the ResGCN+ of Li, Xiong, Thabet, Ghanem (2020)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from revgnn.models.encoder import NodeEncoder
from revgnn.models.head import Head
from revgnn.models.rev_gnn import conv_options
from revgnn.nn.conv.registry import conv_resolver
from revgnn.nn.deep_gcn_block import BLOCKS, DeepGCNBlock
from revgnn.utils.checks import check_probability

__all__ = ["DeeperGCN"]

#: The paper's ogbn-proteins operator: softmax aggregation with a learned inverse temperature.
CONV_DEFAULTS: dict[str, dict[str, Any]] = {"gen": {"aggr": "softmax", "learn_t": True}}


class DeeperGCN(nn.Module):
    r"""The DeeperGCN of Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper
    GCNs" <https://arxiv.org/abs/2006.07739>`_ (2020); with ``block="res+"`` the ResGCN+ of the
    paper.

    .. math::

        \mathbf{H}_0 = \mathrm{Lin}(\mathbf{X}), \quad
        \mathbf{H}_1 = \mathrm{GConv}_1(\mathbf{H}_0), \quad
        \mathbf{H}_{l} = \mathbf{H}_{l-1} + \mathrm{GConv}_l(\mathrm{Dropout}(\mathrm{ReLU}(
        \mathrm{Norm}(\mathbf{H}_{l-1})))), \quad
        \mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(\mathbf{H}_L))))

    The first layer is a bare conv, layers 2..L are res+ blocks (:class:`~revgnn.nn.DeepGCNBlock`),
    and a final Norm -> ReLU -> Dropout precedes the linear head. With ``block="res"`` or
    ``"plain"`` every layer is conv -> norm -> ReLU (-> + input) -> dropout and the head follows
    directly (the authors' code); ``"dense"`` concatenates, the width growing by
    ``hidden_channels`` per layer. Edge features go through a shared edge encoder
    ``Linear(edge_dim, hidden_channels)`` and then, for GENConv, through each conv's own
    encoder (``encode_edge=True``, the authors' ``--conv_encode_edge``). The defaults are the
    paper's ogbn-proteins model: GENConv with softmax aggregation and a learned :math:`\beta`,
    per-node LayerNorm, dropout 0.1; 112 layers of 64 channels with ``edge_dim=8`` and 112
    tasks give its 2.37M parameters.

    ``conv`` and ``conv_kwargs`` are those of :class:`~revgnn.models.RevGNN`. Memory: the
    GENConv aggregation uses the memory-lean path by default, which keeps no :math:`E \times
    D` tensor per layer; activations still grow with depth (:math:`O(L N D)`): for
    depth-independent memory use :class:`~revgnn.models.RevGNN`.

    Args:
        in_channels (int): Input node feature size.
        hidden_channels (int): Width :math:`D`.
        out_channels (int): Output size (classes or tasks).
        num_layers (int): Number of conv layers :math:`L`.
        edge_dim (int, optional): Edge feature size, or ``None``. (default: ``None``)
        block (str, optional): ``"res+"``, ``"res"``, ``"dense"`` or ``"plain"``.
            (default: ``"res+"``)
        conv (str or callable, optional): The operator. (default: ``"gen"``)
        conv_kwargs (dict, optional): Its options, over the paper's defaults
            (``{"aggr": "softmax", "learn_t": True}`` for ``"gen"``, plus
            ``encode_edge=True`` with edge features).
        norm (str, optional): Normalisation of the blocks and of convs that take one.
            (default: ``"layer"``)
        dropout (float, optional): Dropout in the blocks and before the head.
            (default: ``0.1``)
        input_dropout (float, optional): Dropout on the input features. (default: ``0.0``)
        edge_dropout (float, optional): Edge dropout in every block. (default: ``0.0``)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)` (int64 or
          int32) or a sparse adjacency, edge features :math:`(E, F_{edge})` *(optional)*
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
        conv: str | Callable[..., nn.Module] = "gen",
        conv_kwargs: dict[str, Any] | None = None,
        norm: str | None = "layer",
        dropout: float = 0.1,
        input_dropout: float = 0.0,
        edge_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if block not in BLOCKS:
            raise ValueError(f"block={block!r} is not one of {', '.join(BLOCKS)}")
        check_probability("dropout", dropout)
        self.spec = conv_resolver(conv)
        defaults = {k: dict(v) for k, v in CONV_DEFAULTS.items()}
        if edge_dim is not None:
            defaults["gen"]["encode_edge"] = True
        self.conv_kwargs = conv_options(self.spec, defaults, conv_kwargs)
        if self.spec.initial:
            raise ValueError(
                f"conv={self.spec.name!r} reads the initial embedding in every block, which "
                "DeeperGCN does not pass; use RevGNN with it"
            )
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.edge_dim = edge_dim
        self.block = block
        self.dropout = dropout
        prepared = self.spec.prepare is not None and edge_dropout == 0.0
        self.encoder = NodeEncoder(
            in_channels,
            hidden_channels,
            edge_dim,
            input_dropout,
            self.spec.prepare if prepared else None,
        )
        conv_edge_dim = hidden_channels if edge_dim is not None else None

        def make(in_width: int) -> nn.Module:
            return self.spec.make(
                in_width,
                hidden_channels,
                conv_edge_dim,
                self.conv_kwargs,
                {"norm": norm},
                prepared=prepared,
            )

        def layer(i: int) -> nn.Module:
            if block == "res+":
                if i == 0:
                    return make(hidden_channels)
                return DeepGCNBlock(
                    make(hidden_channels),
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
                make(width),
                width,
                kind,
                norm=norm,
                dropout=dropout,
                edge_dropout=edge_dropout,
                out_channels=hidden_channels,
            )

        self.layers = nn.ModuleList([layer(i) for i in range(num_layers)])
        head_width = hidden_channels * num_layers if block == "dense" else hidden_channels
        self.head = Head(head_width, out_channels, norm, dropout, pre_activation=block == "res+")

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        for layer in self.layers:
            layer.reset_parameters()
        self.head.reset_parameters()

    def forward(self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None) -> Tensor:
        h, edge_index, kwargs = self.encoder(x, edge_index, edge_attr)
        for layer in self.layers:
            h = layer(h, edge_index, **kwargs)
        return self.head(h)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.conv_kwargs.items())
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, block={self.block!r}, "
            f"conv={self.spec.name!r}{', ' + options if options else ''}, "
            f"edge_dim={self.edge_dim})"
        )
