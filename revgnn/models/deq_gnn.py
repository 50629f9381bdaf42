r"""DEQ-GNN: the equilibrium of a weight-tied (reversible) block with input injection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from revgnn.models.encoder import NodeEncoder
from revgnn.models.from_sizes import adopt_sizes
from revgnn.models.head import Head
from revgnn.models.registry import register_model
from revgnn.models.rev_gnn import DTYPES, grouped_block
from revgnn.nn.conv.propagate_hooks import explaining
from revgnn.nn.conv.registry import conv_resolver
from revgnn.nn.deq import DEQ, EquilibriumCell
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.nn.res_plus import ResPlus
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.nn.shared_dropout import SharedDropout
from revgnn.utils.checks import check_positive
from revgnn.utils.registry import resolve_name

__all__ = ["CELLS", "DEQGNN", "deq_gnn"]

#: The blocks an equilibrium cell can wrap.
CELLS = ("rev", "res+")


class DEQGNN(nn.Module):
    r"""The DEQ-GNN of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000
    Layers" <https://arxiv.org/abs/2106.07476>`_ (ICML 2021): an implicit GNN whose output is
    the equilibrium of one weight-tied block with input injection.

    .. math::

        \mathbf{X}_0 = \mathrm{Encoder}(\mathbf{X}), \qquad
        \mathbf{Z}^\star = f_\theta(\mathbf{Z}^\star, \mathbf{X}_0), \qquad
        \mathbf{Y} = \mathrm{Head}(f_\theta(\mathbf{Z}^\star, \mathbf{X}_0))

    with :math:`f_\theta` the :class:`~revgnn.nn.deq.EquilibriumCell` around a grouped
    reversible block or a plain res+ block, solved by a :class:`~revgnn.DEQ` layer
    (:attr:`deq`): solver iterations without autograd, one tracked application, implicit (or
    phantom) gradients, so activation memory does not depend on the number of iterations. The
    encoder, the shared dropout mask and the head are the same modules as RevGNN's.

    The DEQ layer's unrolled depth (``unrolled_layers``) is the depth of the weight-tied
    unrolled network used for the first ``warmup_epochs`` epochs (the paper's protocol) and
    whenever :attr:`unrolled` is set; the equilibrium itself has no depth. A trainer calls
    :meth:`epoch_start` at every epoch and :meth:`log_metrics` after every step.

    Parameters: the cell, :math:`\approx 3D^2` for GENConv with ``mlp_layers=2`` and two
    groups, plus the encoders and the head; independent of depth. On ogbn-proteins' sizes (8
    node and edge features, 112 tasks) that is 21,616 parameters at :math:`D = 64` and 182,896
    at :math:`D = 224`, against 51.3k and 537k published for DEQ-GNN-64/-224, whose cell was
    never released (the published figures fit a cell of about :math:`10 D^2`).

    :func:`revgnn.build_model` builds it from a :class:`~revgnn.config.ModelConfig`
    (``model="deq-gnn"``). With BatchNorm's batch statistics inside :math:`f_\theta` the cell
    measured spectral radius 1.3-1.5 at the equilibrium at initialisation on Cora (no solver
    converged), against 0.93-0.94 with ``norm="layer"``: use LayerNorm.

    Args:
        encoder (NodeEncoder): The input side.
        deq (DEQ): The equilibrium layer around the cell.
        head (Head): The output side.
        mask (SharedDropout): One dropout mask per step (the same at every solver iteration).
        warmup_epochs (int): Epochs trained as the unrolled network. (default: ``0``)
        **settings: Sizes and settings, instead of the parts (above): called as its ``repr``
            reads, ``DEQGNN(1433, 64, 7, num_layers=16, solver="anderson")``, it builds
            itself with the library's defaults (:mod:`revgnn.models.from_sizes`); any other
            keyword is a :class:`~revgnn.config.ModelConfig` field.

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)`,
          edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        encoder: NodeEncoder | int | None = None,
        deq: DEQ | int | None = None,
        head: Head | int | None = None,
        mask: SharedDropout | None = None,
        warmup_epochs: int = 0,
        **settings: Any,
    ) -> None:
        super().__init__()
        parts = {"encoder": encoder, "deq": deq, "head": head, "mask": mask}
        shared = {"warmup_epochs": warmup_epochs} if warmup_epochs else {}
        if adopt_sizes(self, "deq-gnn", "node", parts, {}, settings, shared):
            return
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs={warmup_epochs} must be non-negative")
        if warmup_epochs > 0 and deq.unrolled_layers is None:
            raise ValueError("warmup_epochs > 0 needs a DEQ with unrolled_layers (its depth)")
        self.encoder = encoder
        self.deq = deq
        self.mask = mask
        self.head = head
        self.warmup_epochs = warmup_epochs
        if warmup_epochs > 0:
            deq.unrolled = True

    @property
    def num_layers(self) -> int:
        return self.deq.unrolled_layers

    @property
    def weight_tied(self) -> bool:
        return True

    @property
    def reversible(self) -> bool:
        inner = self.deq.f.block
        return isinstance(inner, ReversibleSequential) and inner.reversible

    @reversible.setter
    def reversible(self, value: bool) -> None:
        inner = self.deq.f.block
        if not isinstance(inner, ReversibleSequential):
            if value:
                raise ValueError("reversible applies to a reversible cell (deq_cell='rev') only")
            return
        inner.reversible = value

    @property
    def unrolled(self) -> bool:
        """Whether the model runs as the unrolled weight-tied network of ``num_layers``."""
        return self.deq.unrolled

    @unrolled.setter
    def unrolled(self, value: bool) -> None:
        self.deq.unrolled = value

    def reset_parameters(self) -> None:
        self.encoder.reset_parameters()
        self.deq.reset_parameters()
        self.head.reset_parameters()

    def epoch_start(self, epoch: int) -> None:
        """Called by the trainer before epoch ``epoch`` (counted from 1): epochs
        ``1 .. warmup_epochs`` train the unrolled network, later ones the equilibrium."""
        if self.warmup_epochs > 0:
            self.deq.unrolled = epoch <= self.warmup_epochs

    def log_metrics(self) -> dict[str, float]:
        """The last forward / adjoint solve's iterations, best relative residual and
        convergence (1/0), counts of unconverged solves, and the mode (``deq_unrolled``)."""
        return {f"deq_{k}": v for k, v in self.deq.metrics().items()}

    def forward(self, x: Tensor, edge_index: Any, edge_attr: Tensor | None = None) -> Tensor:
        explain = explaining(self)
        with self.encoder.checked(x, edge_index, edge_attr, explain) as (h, edge_index, kwargs):
            mask = self.mask(h)
            return self.head(self.deq(h, edge_index, mask, **kwargs))

    def __repr__(self) -> str:
        cell = "rev" if isinstance(self.deq.f.block, ReversibleSequential) else "res+"
        return (
            f"{self.__class__.__name__}({self.encoder.in_channels}, "
            f"{self.encoder.out_channels}, {self.head.out_channels}, "
            f"num_layers={self.num_layers}, cell={cell!r}, "
            f"edge_dim={self.encoder.edge_dim}, reversible={self.reversible}, "
            f"warmup_epochs={self.warmup_epochs}, deq={self.deq.extra_repr()})"
        )


@register_model("deq-gnn", family="node")
def deq_gnn(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    hidden_channels: int,
    num_layers: int,
    num_groups: int,
    conv: str | Callable[..., nn.Module],
    conv_options: dict[str, Any],
    norm: str | None,
    dropout: float,
    input_dropout: float,
    deq_cell: str,
    stream_dtype: str,
    warmup_epochs: int,
    solver: str,
    max_iter: int,
    tol: float,
    grad: str,
    backward_solver: str | None,
    backward_max_iter: int | None,
    backward_tol: float | None,
    phantom_steps: int,
    phantom_tau: float,
    jac_reg_weight: float,
    jac_reg_samples: int,
) -> DEQGNN:
    """A :class:`DEQGNN` whose cell is a grouped reversible block of ``num_groups`` groups
    (``deq_cell="rev"``) or a res+ block (``"res+"``) of ``conv``; ``num_layers`` is the depth
    of the unrolled warm-up network; the solver settings go to the :class:`~revgnn.DEQ`
    layer. The Jacobian regulariser (``jac_reg_weight > 0``) needs double backward through
    the block: a GENConv cell needs ``conv_options={"lean": False}``."""
    check_positive("hidden_channels", hidden_channels)
    check_positive("num_layers", num_layers)
    deq_cell = resolve_name(deq_cell, CELLS, "deq_cell")
    spec = conv_resolver(conv)
    if spec.initial:
        raise ValueError(
            f"conv={spec.name!r} reads the initial embedding in every block, which a DEQ-GNN "
            "does not pass; use a RevGNN with it"
        )
    if jac_reg_weight > 0 and spec.name == "gen" and conv_options.get("lean", True):
        raise ValueError(
            f"jac_reg_weight={jac_reg_weight} needs double backward through the block, which "
            'the lean GENConv aggregation does not support; pass conv_options={"lean": False}'
        )
    encoder = NodeEncoder(in_channels, hidden_channels, edge_dim, input_dropout, spec.prepare)
    conv_edge_dim = hidden_channels if edge_dim is not None else None
    if deq_cell == "rev":
        if hidden_channels % num_groups != 0:
            raise ValueError(
                f"num_groups={num_groups} must divide hidden_channels={hidden_channels}"
            )
        rev = grouped_block(
            spec, hidden_channels, num_groups, conv_edge_dim, conv_options,
            norm=norm, dropout=0.0, edge_dropout=0.0, prepared=spec.prepare is not None,
        )  # fmt: skip
        # The Jacobian regulariser differentiates the gradients: the block keeps its graph.
        inner: nn.Module = ReversibleSequential.weight_tied(
            rev, 1, jac_reg_weight == 0, DTYPES[stream_dtype]
        )
    else:
        layer = spec.make(
            hidden_channels, hidden_channels, conv_edge_dim, conv_options, {"norm": norm},
            prepared=spec.prepare is not None,
        )  # fmt: skip
        inner = ResPlus(PreActConv(layer, hidden_channels, norm=norm))
    deq = DEQ(
        EquilibriumCell(inner, hidden_channels),
        solver=solver,
        max_iter=max_iter,
        tol=tol,
        grad=grad,
        backward_solver=backward_solver,
        backward_max_iter=backward_max_iter,
        backward_tol=backward_tol,
        phantom_steps=phantom_steps,
        phantom_tau=phantom_tau,
        unrolled_layers=num_layers,
        jac_reg_weight=jac_reg_weight,
        jac_reg_samples=jac_reg_samples,
    )
    head = Head(hidden_channels, out_channels, norm, dropout)
    return DEQGNN(encoder, deq, head, SharedDropout(dropout), warmup_epochs)
