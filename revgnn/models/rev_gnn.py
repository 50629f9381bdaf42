r"""RevGNN: a deep GNN of grouped reversible pre-activation GENConv blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import GENConv
from torch_geometric.nn.resolver import normalization_resolver

from revgnn.block import PreActConv
from revgnn.dropout import SharedDropout
from revgnn.reversible import GroupAddRev, ReversibleSequential, reset_module


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
    reversible backward pass replays exactly.

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
            ``"powermean"``, ``"max"``, ``"mean"``, ``"add"``). (default: ``"max"``)
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
        aggr: str = "max",
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
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_groups = num_groups
        self.edge_dim = edge_dim
        self.aggr = aggr
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.shared_dropout = shared_dropout

        group = hidden_channels // num_groups

        def group_block() -> PreActConv:
            conv = GENConv(
                group,
                group,
                aggr=aggr,
                t=t,
                learn_t=learn_t,
                p=p,
                learn_p=learn_p,
                norm=norm,
                num_layers=mlp_layers,
                bias=True,
                edge_dim=hidden_channels if edge_dim is not None else None,
            )
            return PreActConv(conv, group, norm=norm, dropout=0.0 if shared_dropout else dropout)

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
        self.norm = normalization_resolver(norm, hidden_channels)
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
        mask = self.mask(h) if self.mask is not None else None
        h = self.layers(h, edge_index, mask, **kwargs)
        h = F.relu(self.norm(h))
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.head(h)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, num_groups={self.num_groups}, "
            f"aggr={self.aggr!r}, edge_dim={self.edge_dim}, weight_tied={self.weight_tied}, "
            f"reversible={self.reversible})"
        )
