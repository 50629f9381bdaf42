r"""DeeperGCN: the ResGCN+ of Li, Xiong, Thabet, Ghanem (2020)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from revgnn.models.encoder import NodeEncoder
from revgnn.models.from_sizes import adopt_sizes
from revgnn.models.head import Head
from revgnn.models.registry import register_model
from revgnn.nn.conv.propagate_hooks import explaining
from revgnn.nn.conv.registry import conv_resolver
from revgnn.nn.deep_gcn_block import BLOCKS, GATED_BLOCKS, DeepGCNBlock
from revgnn.utils.checks import check_positive, check_probability
from revgnn.utils.registry import resolve_name

__all__ = ["DeeperGCN", "deeper_gcn"]


class DeeperGCN(nn.Module):
    r"""The DeeperGCN of Li, Xiong, Thabet, Ghanem, `"DeeperGCN: All You Need to Train Deeper
    GCNs" <https://arxiv.org/abs/2006.07739>`_ (2020), by composition; with res+ layers the
    ResGCN+ of the paper:

    .. math::

        \mathbf{H}_0 = \mathrm{Encoder}(\mathbf{X}), \quad
        \mathbf{H}_1 = \mathrm{GConv}_1(\mathbf{H}_0), \quad
        \mathbf{H}_{l} = \mathbf{H}_{l-1} + \mathrm{GConv}_l(\mathrm{Dropout}(\mathrm{ReLU}(
        \mathrm{Norm}(\mathbf{H}_{l-1})))), \quad
        \mathbf{Y} = \mathrm{Head}(\mathbf{H}_L)

    Memory: activations grow with depth (:math:`O(L N D)`; the lean GENConv aggregation keeps
    no :math:`E \times D` tensor per layer); for depth-independent memory use
    :class:`~revgnn.models.RevGNN`. :func:`revgnn.build_model` builds it from a
    :class:`~revgnn.config.ModelConfig` (``model="deeper-gcn"``); the recipe
    ``ogbn-proteins/deeper-gcn`` is the paper's 112 x 64 model (2.37M parameters).

    Called with sizes, as its ``repr`` reads, it builds itself with the library's defaults
    (:mod:`revgnn.models.from_sizes`): ``DeeperGCN(8, 64, 112, num_layers=112, norm="layer",
    edge_dim=8)``; any other keyword is a :class:`~revgnn.config.ModelConfig` field.

    Args:
        encoder (NodeEncoder): The input side.
        layers (list of nn.Module): The layers, each ``layer(h, edge_index, **kwargs)``.
        head (Head): The output side.
        **settings: Sizes and settings, instead of the parts (above).

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)` (int64 or
          int32) or a sparse adjacency, edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        encoder: NodeEncoder | int | None = None,
        layers: list[nn.Module] | int | None = None,
        head: Head | int | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        parts = {"encoder": encoder, "layers": layers, "head": head}
        if adopt_sizes(self, "deeper-gcn", "node", parts, {}, settings):
            return
        if len(layers) < 1:
            raise ValueError("layers must hold at least one layer")
        self.encoder = encoder
        self.layers = nn.ModuleList(layers)
        self.head = head

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def block(self) -> str:
        last = self.layers[-1]
        return last.block if isinstance(last, DeepGCNBlock) else "res+"

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        for layer in self.layers:
            layer.reset_parameters()
        self.head.reset_parameters()

    def forward(self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None) -> Tensor:
        explain = explaining(self)
        with self.encoder.checked(x, edge_index, edge_attr, explain) as (h, edge_index, kwargs):
            for layer in self.layers:
                h = layer(h, edge_index, **kwargs)
            return self.head(h)

    def __repr__(self) -> str:
        first = self.layers[-1]
        conv = first.conv_module if isinstance(first, DeepGCNBlock) else first
        return (
            f"{self.__class__.__name__}({self.encoder.in_channels}, "
            f"{self.encoder.out_channels}, {self.head.out_channels}, "
            f"num_layers={self.num_layers}, block={self.block!r}, conv={conv}, "
            f"edge_dim={self.encoder.edge_dim})"
        )


@register_model("deeper-gcn", family="node")
def deeper_gcn(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    hidden_channels: int,
    num_layers: int,
    block: str,
    conv: str | Callable[..., nn.Module],
    conv_options: dict[str, Any],
    norm: str | None,
    dropout: float,
    input_dropout: float,
    edge_dropout: float,
    branch_gate: float | None,
) -> DeeperGCN:
    """A :class:`DeeperGCN` of ``num_layers`` layers of kind ``block``: with ``"res+"`` a bare
    first conv, then res+ blocks (:class:`~revgnn.nn.DeepGCNBlock`), and a final Norm -> ReLU
    -> Dropout before the linear head; with ``"res"`` or ``"plain"`` every layer is conv ->
    norm -> ReLU (-> + input) -> dropout and the head is linear (the authors' code);
    ``"dense"`` concatenates, the width growing by ``hidden_channels`` per layer. Edge features
    go through a shared edge encoder and then, for GENConv, through each conv's own encoder
    (``encode_edge=True`` unless ``conv_options`` say otherwise: the authors'
    ``--conv_encode_edge``). ``branch_gate`` gates the branch of every res+ / res block
    (:class:`~revgnn.nn.DeepGCNBlock`); the recipe's ``"auto"`` starts it at 0 from
    :data:`~revgnn.config.model.DEEP` layers on (:mod:`revgnn.config.adapt`)."""
    check_positive("hidden_channels", hidden_channels)
    check_positive("num_layers", num_layers)
    block = resolve_name(block, BLOCKS, "block")
    check_probability("dropout", dropout)
    spec = conv_resolver(conv)
    if spec.initial:
        raise ValueError(
            f"conv={spec.name!r} reads the initial embedding in every block, which DeeperGCN "
            "does not pass; use a RevGNN with it"
        )
    options = dict(conv_options)
    if edge_dim is not None and spec.accepts("encode_edge"):
        options.setdefault("encode_edge", True)
    prepared = spec.prepare is not None and edge_dropout == 0.0
    encoder = NodeEncoder(
        in_channels, hidden_channels, edge_dim, input_dropout, spec.prepare if prepared else None
    )
    conv_edge_dim = hidden_channels if edge_dim is not None else None

    def make(width: int) -> nn.Module:
        return spec.make(
            width, hidden_channels, conv_edge_dim, options, {"norm": norm}, prepared=prepared
        )

    def layer(i: int) -> nn.Module:
        if block == "res+":
            if i == 0:
                return make(hidden_channels)
            return DeepGCNBlock(
                make(hidden_channels), hidden_channels, "res+", norm=norm, dropout=dropout,
                edge_dropout=edge_dropout, branch_gate=branch_gate,
            )  # fmt: skip
        # The authors' res/plain start with conv -> norm -> ReLU -> dropout.
        width = hidden_channels * i if (block == "dense" and i > 0) else hidden_channels
        kind = "plain" if i == 0 else block
        return DeepGCNBlock(
            make(width), width, kind, norm=norm, dropout=dropout, edge_dropout=edge_dropout,
            out_channels=hidden_channels, branch_gate=branch_gate if kind in GATED_BLOCKS else None,
        )  # fmt: skip

    layers = [layer(i) for i in range(num_layers)]
    head_width = hidden_channels * num_layers if block == "dense" else hidden_channels
    head = Head(head_width, out_channels, norm, dropout, pre_activation=block == "res+")
    return DeeperGCN(encoder, layers, head)
