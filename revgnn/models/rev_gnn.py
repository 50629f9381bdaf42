r"""RevGNN: a deep GNN of grouped reversible pre-activation blocks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.models.encoder import NodeEncoder
from revgnn.models.head import Head
from revgnn.nn.conv.registry import ConvSpec, conv_resolver
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.nn.shared_dropout import SharedDropout
from revgnn.utils.checks import check_probability

__all__ = ["RevGNN", "grouped_block"]

#: The paper's operator settings, per conv: RevGNN-Deep / -Wide use max aggregation.
CONV_DEFAULTS: dict[str, dict[str, Any]] = {"gen": {"aggr": "max"}}


def grouped_block(
    spec: ConvSpec,
    channels: int,
    num_groups: int,
    conv_edge_dim: int | None,
    conv_kwargs: dict[str, Any],
    *,
    norm: str | None,
    dropout: float,
    edge_dropout: float,
    prepared: bool,
    layer: int = 1,
    branch_scale: float | None = None,
    branch_gate: float | None = None,
) -> GroupAddRev:
    """One :class:`~revgnn.GroupAddRev` of ``num_groups`` res+ group functions
    Norm -> ReLU -> Dropout -> conv on ``channels // num_groups`` channels each; ``layer`` is
    the block's 1-based depth (for convs whose weights depend on it, as GCNII's)."""
    group = channels // num_groups
    defaults = {"norm": norm, "layer": layer}

    def group_fn() -> PreActConv:
        conv = spec.make(group, group, conv_edge_dim, conv_kwargs, defaults, prepared=prepared)
        return PreActConv(
            conv,
            group,
            norm=norm,
            dropout=dropout,
            edge_dropout=edge_dropout,
            branch_scale=branch_scale,
            branch_gate=branch_gate,
        )

    return GroupAddRev([group_fn() for _ in range(num_groups)])


def conv_options(
    spec: ConvSpec, defaults: dict[str, dict[str, Any]], conv_kwargs: dict[str, Any] | None
) -> dict[str, Any]:
    """A model's defaults for ``spec`` (those the conv takes), overridden by ``conv_kwargs``."""
    return {**defaults.get(spec.name, {}), **(conv_kwargs or {})}


class RevGNN(nn.Module):
    r"""The RevGNN of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000
    Layers" <https://arxiv.org/abs/2106.07476>`_ (ICML 2021).

    .. math::

        \mathbf{H}_0 = \mathrm{Lin}(\mathbf{X}), \qquad
        \mathbf{H}_{l} = \mathrm{RevBlock}_l(\mathbf{H}_{l-1}, \mathbf{A}, \mathbf{U}), \qquad
        \mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(\mathbf{H}_L))))

    Each :math:`\mathrm{RevBlock}_l` is a :class:`~revgnn.GroupAddRev` with ``num_groups``
    groups whose group function is the res+ residual function Norm -> ReLU -> Dropout -> conv
    (:class:`~revgnn.nn.PreActConv`, optionally scaled by a learnable ``branch_scale``), all
    stacked in one :class:`~revgnn.ReversibleSequential`, so activation memory does not grow
    with ``num_layers``. Edge features pass through one
    shared edge encoder (``Linear(edge_dim, hidden_channels)``) and reach every group unsplit;
    each conv maps them to its group width. With ``conv="gen"`` (the default, max aggregation),
    ``hidden_channels=80``, ``num_layers=1001`` and ``edge_dim=8`` this is RevGNN-Deep of the
    paper (20.03M parameters on ogbn-proteins).

    ``conv`` is a registered operator (:data:`~revgnn.nn.conv.CONVS`: ``"gen"``
    (:class:`~revgnn.GENConv`), ``"gat"`` (RevGAT), ``"sage"``, ``"gcn"``, ``"gin"``,
    ``"mlp"``, ``"gcnii"``: initial residual and identity mapping, with the initial embedding
    passed to every block) or a builder ``conv(in_channels, out_channels, edge_dim,
    **conv_kwargs)``;
    ``conv_kwargs`` are its options (for GENConv ``aggr``, ``t``, ``learn_t``, ``p``,
    ``learn_p``, ``msg_norm``, ``mlp_layers``, ``lean``, ...), refused by name when the conv
    has no such option. Graph preprocessing that every layer shares (GCN's normalisation) runs
    once per forward pass, unless the blocks drop edges.

    Dropout inside the blocks uses one mask per step shared by all layers
    (``shared_dropout=True``, as in the paper) or ordinary dropout in every block, which the
    reversible backward pass replays exactly; so does edge dropout (``edge_dropout``) and GAT's
    attention dropout.

    Args:
        in_channels (int): Input node feature size.
        hidden_channels (int): Width :math:`D` of the residual stream.
        out_channels (int): Output size (classes or tasks).
        num_layers (int): Number of reversible blocks :math:`L`.
        num_groups (int, optional): Groups per block :math:`C`; must divide
            ``hidden_channels``. (default: ``2``)
        edge_dim (int, optional): Edge feature size, or ``None``. (default: ``None``)
        conv (str or callable, optional): The operator of the blocks. (default: ``"gen"``)
        conv_kwargs (dict, optional): Its options, over the paper's defaults
            (``{"aggr": "max"}`` for ``"gen"``).
        norm (str, optional): Normalisation of the blocks, of convs that take one (GENConv's
            MLP) and of the output. (default: ``"batch"``)
        dropout (float, optional): Dropout inside the blocks and before the head.
            (default: ``0.1``)
        input_dropout (float, optional): Dropout on the input features. (default: ``0.0``)
        shared_dropout (bool, optional): One dropout mask per step for all blocks.
            (default: ``True``)
        edge_dropout (float, optional): Probability of dropping each edge in every block.
            (default: ``0.0``)
        branch_scale (float, optional): A fixed factor on every group function's output
            (:class:`~revgnn.nn.PreActConv`): ``T / num_layers`` makes the stack ``L`` steps
            of size ``T / L``, so that its total update stays that of ``T`` unit blocks at any
            depth. ``None``: 1. (default: ``None``)
        branch_gate (float, optional): A learnable scalar on every group function's output,
            starting at this value: ``0.0`` makes every block the identity at initialisation
            (ReZero), ``1.0`` lets each block learn its step. ``None``: no gate.
            (default: ``None``)
        weight_tied (bool, optional): One block's weights for all layers (WT-RevGNN).
            (default: ``False``)
        reversible (bool, optional): ``False`` runs the same weights and arithmetic with
            ordinary autograd (the non-reversible reference). (default: ``True``)
        stream_dtype (torch.dtype, optional): Dtype of the residual stream, see
            :class:`~revgnn.ReversibleSequential`. (default: ``torch.float64``)
        snapshot_every (int, optional): Exact stream snapshots every this many blocks, see
            :class:`~revgnn.ReversibleSequential`. (default: ``None``)

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
        num_groups: int = 2,
        edge_dim: int | None = None,
        conv: str | Callable[..., nn.Module] = "gen",
        conv_kwargs: dict[str, Any] | None = None,
        norm: str | None = "batch",
        dropout: float = 0.1,
        input_dropout: float = 0.0,
        shared_dropout: bool = True,
        edge_dropout: float = 0.0,
        branch_scale: float | None = None,
        branch_gate: float | None = None,
        weight_tied: bool = False,
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
        snapshot_every: int | None = None,
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
        check_probability("dropout", dropout)
        check_probability("edge_dropout", edge_dropout)
        self.spec = conv_resolver(conv)
        self.conv_kwargs = conv_options(self.spec, CONV_DEFAULTS, conv_kwargs)
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_groups = num_groups
        self.edge_dim = edge_dim
        self.dropout = dropout
        self.shared_dropout = shared_dropout
        self.branch_gate = branch_gate
        # Without edge dropout every block sees the same graph: preprocess it once, not in
        # each block and again in each backward recompute.
        prepared = self.spec.prepare is not None and edge_dropout == 0.0
        self.encoder = NodeEncoder(
            in_channels,
            hidden_channels,
            edge_dim,
            input_dropout,
            self.spec.prepare if prepared else None,
        )

        def block(layer: int = 1) -> GroupAddRev:
            return grouped_block(
                self.spec,
                hidden_channels,
                num_groups,
                # The shared edge encoder's output reaches every group unsplit.
                hidden_channels if edge_dim is not None else None,
                self.conv_kwargs,
                norm=norm,
                dropout=0.0 if shared_dropout else dropout,
                edge_dropout=edge_dropout,
                prepared=prepared,
                layer=layer,
                branch_scale=branch_scale,
                branch_gate=branch_gate,
            )

        if weight_tied:
            self.layers = ReversibleSequential.weight_tied(
                block(), num_layers, reversible, stream_dtype, snapshot_every
            )
        else:
            self.layers = ReversibleSequential(
                [block(layer) for layer in range(1, num_layers + 1)],
                reversible,
                stream_dtype,
                snapshot_every,
            )
        self.mask = SharedDropout(dropout) if shared_dropout else None
        self.head = Head(hidden_channels, out_channels, norm, dropout)

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
        self.encoder.reset_parameters()
        self.layers.reset_parameters()
        self.head.reset_parameters()

    def forward(self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None) -> Tensor:
        h, edge_index, kwargs = self.encoder(x, edge_index, edge_attr)
        mask = self.mask(h) if self.mask is not None else None
        # An initial-residual conv reads the initial embedding in every block (each group
        # its own channels of it: a positional tensor of the stream's width is split).
        initial = h if self.spec.initial else None
        h = self.layers(h, edge_index, mask, initial, **kwargs)
        return self.head(h)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.conv_kwargs.items())
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, num_groups={self.num_groups}, "
            f"conv={self.spec.name!r}{', ' + options if options else ''}, "
            f"edge_dim={self.edge_dim}, weight_tied={self.weight_tied}, "
            f"reversible={self.reversible}"
            + (f", branch_gate={self.branch_gate:g}" if self.branch_gate is not None else "")
            + ")"
        )
