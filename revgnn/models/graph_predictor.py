"""A node model as a graph-level (molecule) model."""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import global_mean_pool

__all__ = ["GraphPredictor"]


class GraphPredictor(nn.Module):
    r"""A node model of the package as a molecule (graph-level) model.

    .. math::

        \mathbf{y}_G = \frac{1}{|G|} \sum_{v \in G} f(\mathrm{Atom}(\mathbf{x}),
        \mathbf{A}, \mathrm{Bond}(\mathbf{e}))_v

    OGB's ``AtomEncoder`` / ``BondEncoder`` replace the model's linear encoders and the
    per-node logits are mean-pooled. As the head is linear, pooling its output equals applying
    it to the pooled node states (DeeperGCN's ``graph_pred_linear(mean_pool(h))``).

    Args:
        model (nn.Module): A :class:`~revgnn.models.DeeperGCN`, :class:`~revgnn.models.RevGNN`
            or :class:`~revgnn.models.DEQGNN` built with ``edge_dim`` set (any value) so that
            its encoder has an edge path, and ``in_channels`` the number of atom features; its
            ``out_channels`` are the tasks.
        hidden_channels (int): The model's width (the encoders' output).

    Shapes:
        - **input:** ``x`` long :math:`(N, 9)` atom features, ``edge_index`` :math:`(2, E)`,
          ``edge_attr`` long :math:`(E, 3)` bond features, ``batch`` :math:`(N,)`
        - **output:** :math:`(B, T)` logits
    """

    def __init__(self, model: nn.Module, hidden_channels: int) -> None:
        super().__init__()
        from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder

        encoder = getattr(model, "encoder", None)
        if encoder is None or getattr(encoder, "edge", None) is None:
            raise ValueError(
                "model must be a revgnn model built with edge_dim set, so that its encoder "
                "has an edge path for the BondEncoder"
            )
        encoder.node = AtomEncoder(hidden_channels)
        encoder.edge = BondEncoder(hidden_channels)
        self.model = model

    def reset_parameters(self) -> None:
        self.model.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor) -> Tensor:
        return global_mean_pool(self.model(x, edge_index, edge_attr), batch)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.model!r})"
