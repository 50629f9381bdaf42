r"""The peers revgnn is measured against, assembled from PyG's own building blocks as PyG's
examples assemble them, defined once for the profiler, the planner and the benchmarks.

* :class:`PreActStack` with ``mode="groupaddrev"``: PyG's
  :class:`~torch_geometric.nn.GroupAddRev` around pre-activation blocks, as in PyG's
  ``examples/rev_gnn.py`` (:func:`pyg_groupaddrev_gnn` with PyG's GENConv);
  ``mode="residual"``: the same blocks as a plain (non-reversible) res+ stack;
* :class:`PyGDeepGCN`: the res+ DeeperGCN of PyG's :class:`~torch_geometric.nn.DeepGCNLayer`,
  as in PyG's ``examples/ogbn_proteins_deepgcn.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from revgnn.nn.dropout import dropout

__all__ = ["STACK_MODES", "PreActStack", "PyGDeepGCN", "pyg_groupaddrev_gnn"]

#: How :class:`PreActStack` connects its blocks.
STACK_MODES = ("groupaddrev", "residual")


def _pyg_norm(norm: str, channels: int) -> nn.Module:
    from torch_geometric.nn.resolver import normalization_resolver

    return normalization_resolver(norm, channels)


class _MaskedPreAct(nn.Module):
    """Norm -> ReLU -> shared dropout mask -> conv: one block's (or group's) function."""

    def __init__(self, norm: nn.Module, conv: nn.Module) -> None:
        super().__init__()
        self.norm = norm
        self.conv = conv

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()
        self.conv.reset_parameters()

    def forward(
        self, x: Tensor, edge_index: Tensor, mask: Tensor, edge_attr: Tensor | None = None
    ) -> Tensor:
        h = torch.relu(self.norm(x))
        if self.training:
            h = h * mask
        if edge_attr is None:
            return self.conv(h, edge_index)
        # (E, D, 1): PyG's GroupAddRev splits a positional tensor whose last dimension equals
        # the channels; this one reaches every group whole, as revgnn's keyword argument does.
        return self.conv(h, edge_index, edge_attr.squeeze(-1))


class PreActStack(nn.Module):
    r"""Encoder, ``num_layers`` pre-activation blocks Norm -> ReLU -> shared dropout mask ->
    ``conv``, then Norm -> ReLU -> dropout -> linear head.

    With ``mode="groupaddrev"`` every block is PyG's ``GroupAddRev`` with ``num_groups``
    groups of ``conv(hidden_channels // num_groups)`` (one mask per step passed to every block
    positionally: the only way PyG's reversible function handles dropout correctly); with
    ``"residual"`` each block's output is added to its input (:math:`O(LND)` memory). Edge
    features go through one shared edge encoder :math:`(E, D)` that reaches every block (and
    every group) whole, so that the architecture equals :class:`revgnn.models.RevGNN`'s.

    Args:
        conv (callable): ``conv(channels) -> module`` called as
            ``module(x, edge_index[, edge_attr])``.
        in_channels, hidden_channels, out_channels, num_layers (int): Sizes.
        mode (str): ``"groupaddrev"`` or ``"residual"``.
        num_groups (int): Groups of a ``GroupAddRev`` block. (default: ``2``)
        edge_dim (int, optional): Edge feature size, or ``None``.
        norm (str): Normalisation (PyG's resolver). (default: ``"batch"``)
        dropout (float): Dropout probability. (default: ``0.1``)
        group_add_rev (callable, optional): The reversible block, called as
            ``group_add_rev(fn, num_groups=C)``: PyG's ``GroupAddRev`` by default, or
            revgnn's, swapped into the same Python loop. (default: ``None``)

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        conv: Callable[[int], nn.Module],
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int,
        *,
        mode: str = "groupaddrev",
        num_groups: int = 2,
        edge_dim: int | None = None,
        norm: str = "batch",
        dropout: float = 0.1,
        group_add_rev: Callable[..., nn.Module] | None = None,
    ) -> None:
        from torch_geometric.nn import GroupAddRev

        group_add_rev = group_add_rev or GroupAddRev
        super().__init__()
        if mode not in STACK_MODES:
            raise ValueError(f"mode={mode!r} must be one of {STACK_MODES}")
        if mode == "groupaddrev" and hidden_channels % num_groups:
            raise ValueError(
                f"num_groups={num_groups} must divide hidden_channels={hidden_channels}"
            )
        self.mode = mode
        self.hidden_channels = hidden_channels
        self.num_groups = num_groups
        self.dropout = dropout
        width = hidden_channels // num_groups if mode == "groupaddrev" else hidden_channels

        def block() -> nn.Module:
            fn = _MaskedPreAct(_pyg_norm(norm, width), conv(width))
            return group_add_rev(fn, num_groups=num_groups) if mode == "groupaddrev" else fn

        self.node_encoder = nn.Linear(in_channels, hidden_channels)
        self.edge_encoder = nn.Linear(edge_dim, hidden_channels) if edge_dim else None
        self.layers = nn.ModuleList(block() for _ in range(num_layers))
        self.norm = _pyg_norm(norm, hidden_channels)
        self.head = nn.Linear(hidden_channels, out_channels)

    def reset_parameters(self) -> None:
        for m in (self.node_encoder, self.edge_encoder, self.norm, self.head, *self.layers):
            if m is not None:
                m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        h = self.node_encoder(x)
        keep = 1.0 - self.dropout
        mask = torch.empty_like(h).bernoulli_(keep).div_(keep)
        args = [mask]
        if self.edge_encoder is not None:
            args.append(self.edge_encoder(edge_attr).unsqueeze(-1))
        for layer in self.layers:
            if self.mode == "groupaddrev":
                h = layer(h, edge_index, *args)
            else:
                h = h + layer(h, edge_index, *args)
        h = dropout(torch.relu(self.norm(h)), self.dropout, self.training)
        return self.head(h)

    def __repr__(self) -> str:
        groups = f", num_groups={self.num_groups}" if self.mode == "groupaddrev" else ""
        return (
            f"{self.__class__.__name__}({self.hidden_channels}, num_layers={len(self.layers)}, "
            f"mode={self.mode!r}{groups})"
        )


def pyg_groupaddrev_gnn(
    in_channels: int,
    hidden_channels: int,
    out_channels: int,
    num_layers: int,
    *,
    num_groups: int = 2,
    edge_dim: int | None = None,
    aggr: str = "max",
    learn_t: bool = False,
    learn_p: bool = False,
    mlp_layers: int = 2,
    norm: str = "batch",
    dropout: float = 0.1,
    group_add_rev: Callable[..., nn.Module] | None = None,
) -> PreActStack:
    """The peer of :class:`revgnn.models.RevGNN`: PyG's ``GroupAddRev`` (or
    ``group_add_rev``) around pre-activation PyG GENConv blocks, called in a Python loop; with
    edge features each group's GENConv encodes the shared :math:`(E, D)` edge embedding to
    its width, as revgnn's does (equal parameter counts)."""
    from torch_geometric.nn import GENConv

    def conv(c: int) -> nn.Module:
        return GENConv(
            c,
            c,
            aggr=aggr,
            learn_t=learn_t,
            learn_p=learn_p,
            norm=norm,
            num_layers=mlp_layers,
            bias=True,
            edge_dim=hidden_channels if edge_dim is not None else None,
        )

    return PreActStack(
        conv,
        in_channels,
        hidden_channels,
        out_channels,
        num_layers,
        mode="groupaddrev",
        num_groups=num_groups,
        edge_dim=edge_dim,
        norm=norm,
        dropout=dropout,
        group_add_rev=group_add_rev,
    )


class PyGDeepGCN(nn.Module):
    r"""The res+ DeeperGCN assembled from PyG's :class:`torch_geometric.nn.DeepGCNLayer`, as in
    PyG's ``examples/ogbn_proteins_deepgcn.py``: a bare GENConv first layer, then
    ``num_layers - 1`` res+ layers (norm -> ReLU -> dropout -> GENConv, plus the input), then
    norm -> ReLU -> dropout -> linear head. Every layer keeps its activations for the backward
    pass (:math:`O(LND)` memory). A peer of :class:`revgnn.models.DeeperGCN`.

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
        aggr: str = "softmax",
        learn_t: bool = False,
        learn_p: bool = False,
        mlp_layers: int = 2,
        norm: str = "layer",
        dropout: float = 0.1,
    ) -> None:
        from torch_geometric.nn import DeepGCNLayer, GENConv

        super().__init__()
        self.hidden_channels = hidden_channels
        self.dropout = dropout
        d = hidden_channels
        self.node_encoder = nn.Linear(in_channels, d)
        self.edge_encoder = nn.Linear(edge_dim, d) if edge_dim else None
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            conv = GENConv(
                d,
                d,
                aggr=aggr,
                learn_t=learn_t,
                learn_p=learn_p,
                norm=norm,
                num_layers=mlp_layers,
                bias=True,
            )
            self.layers.append(DeepGCNLayer(conv, _pyg_norm(norm, d), nn.ReLU(), "res+", dropout))
        self.head = nn.Linear(d, out_channels)

    def reset_parameters(self) -> None:
        for m in (self.node_encoder, self.edge_encoder, self.head, *self.layers):
            if m is not None:
                m.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        h = self.node_encoder(x)
        e = self.edge_encoder(edge_attr) if self.edge_encoder is not None else None
        h = self.layers[0].conv(h, edge_index, e)
        for layer in self.layers[1:]:
            h = layer(h, edge_index, e)
        first = self.layers[0]
        h = dropout(first.act(first.norm(h)), self.dropout, self.training)
        return self.head(h)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.hidden_channels}, num_layers={len(self.layers)})"
