r"""DEQ-GNN: the equilibrium of a weight-tied (reversible) block with input injection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.models.encoder import NodeEncoder
from revgnn.models.head import Head
from revgnn.models.rev_gnn import CONV_DEFAULTS, conv_options, grouped_block
from revgnn.nn.conv.registry import conv_resolver
from revgnn.nn.deq import DEQ, EquilibriumCell
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.nn.res_plus import ResPlus
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.nn.shared_dropout import SharedDropout
from revgnn.utils.checks import check_finite

__all__ = ["DEQGNN"]

BLOCKS = ("rev", "res+")


class DEQGNN(nn.Module):
    r"""The DEQ-GNN of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000
    Layers" <https://arxiv.org/abs/2106.07476>`_ (ICML 2021): an implicit GNN whose output is
    the equilibrium of one weight-tied block with input injection.

    .. math::

        \mathbf{X}_0 = \mathrm{Lin}(\mathbf{X}), \qquad
        \mathbf{Z}^\star = f_\theta(\mathbf{Z}^\star, \mathbf{X}_0), \qquad
        \mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(
        f_\theta(\mathbf{Z}^\star, \mathbf{X}_0)))))

    with :math:`f_\theta` the :class:`~revgnn.nn.deq.EquilibriumCell` around a grouped
    reversible block (``block="rev"``, the block of :class:`~revgnn.models.RevGNN`) or a plain
    res+ block (``block="res+"``), solved by a :class:`~revgnn.DEQ` layer (:attr:`deq`): solver
    iterations without autograd, one tracked application, implicit (or phantom) gradients, so
    activation memory does not depend on the number of iterations. The encoder, the shared
    dropout mask and the head are the same modules as RevGNN's.

    ``num_layers`` is the depth of the weight-tied unrolled network used for the first
    ``warmup_epochs`` epochs (the paper's protocol) and whenever :attr:`unrolled` is set; the
    equilibrium itself has no depth. A trainer calls :meth:`epoch_start` at every epoch and
    :meth:`log_metrics` after every step.

    Parameters: the cell, :math:`\approx 3D^2` for GENConv with ``mlp_layers=2`` and two
    groups, plus the encoders and the head; independent of ``num_layers``. On ogbn-proteins'
    sizes (8 node and edge features, 112 tasks) that is 21,616 parameters at :math:`D = 64` and
    182,896 at :math:`D = 224`, against 51.3k and 537k published for DEQ-GNN-64/-224, whose
    cell was never released (the published figures fit a cell of about :math:`10 D^2`).

    Args:
        in_channels (int): Input node feature size.
        hidden_channels (int): Width :math:`D` of the state.
        out_channels (int): Output size (classes or tasks).
        num_layers (int): Depth of the unrolled weight-tied warm-up network.
        edge_dim (int, optional): Edge feature size, or ``None``. (default: ``None``)
        block (str, optional): ``"rev"`` (grouped reversible) or ``"res+"``.
            (default: ``"rev"``)
        num_groups (int, optional): Groups of the reversible block. (default: ``2``)
        conv (str or callable, optional): The operator, as in
            :class:`~revgnn.models.RevGNN`. (default: ``"gen"``)
        conv_kwargs (dict, optional): Its options (``{"aggr": "max"}`` for ``"gen"`` by
            default).
        norm (str, optional): Normalisation inside the block (and its conv) and before the
            head. The default differs from RevGNN's: with BatchNorm's batch statistics inside
            :math:`f_\theta`, the cell measured spectral radius 1.3-1.5 at the equilibrium at
            initialisation on Cora (no solver converged), against 0.93-0.94 with ``"layer"``.
            (default: ``"layer"``)
        dropout (float, optional): Dropout inside the block (one mask per step, the same at
            every solver iteration) and before the head. (default: ``0.1``)
        input_dropout (float, optional): Dropout on the input features. (default: ``0.0``)
        reversible (bool, optional): For ``block="rev"``: ``False`` runs the same block with
            ordinary autograd (needed for ``jac_reg_weight > 0``). (default: ``True``)
        stream_dtype (torch.dtype, optional): Residual-stream dtype of the reversible block.
            (default: ``torch.float64``)
        solver (str, optional): Forward solver. (default: ``"anderson"``)
        max_iter (int, optional): Forward solver iterations at most. (default: ``30``)
        tol (float, optional): Relative forward tolerance. (default: ``1e-3``)
        solver_options (dict, optional): Forward solver options.
        grad (str, optional): ``"implicit"`` or ``"phantom"``. (default: ``"implicit"``)
        backward_solver (str, optional): Adjoint solver (default: ``solver``).
        backward_max_iter (int, optional): Adjoint iterations (default: ``max_iter``).
        backward_tol (float, optional): Adjoint tolerance (default: ``tol``).
        backward_options (dict, optional): Adjoint solver options.
        phantom_steps (int, optional): Steps of phantom gradients. (default: ``5``)
        phantom_tau (float, optional): Damping of phantom gradients. (default: ``1.0``)
        warmup_epochs (int, optional): Epochs trained as the unrolled network before switching
            to the equilibrium. (default: ``0``)
        jac_reg_weight (float, optional): Weight of the Jacobian regulariser, see
            :class:`~revgnn.DEQ`; needs double backward, so ``conv_kwargs={"lean": False}``
            for GENConv and, for ``block="rev"``, ``reversible=False``. (default: ``0.0``)
        jac_reg_samples (int, optional): Its Hutchinson probes. (default: ``1``)

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
        block: str = "rev",
        num_groups: int = 2,
        conv: str | Callable[..., nn.Module] = "gen",
        conv_kwargs: dict[str, Any] | None = None,
        norm: str = "layer",
        dropout: float = 0.1,
        input_dropout: float = 0.0,
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
        solver: str = "anderson",
        max_iter: int = 30,
        tol: float = 1e-3,
        solver_options: dict[str, Any] | None = None,
        grad: str = "implicit",
        backward_solver: str | None = None,
        backward_max_iter: int | None = None,
        backward_tol: float | None = None,
        backward_options: dict[str, Any] | None = None,
        phantom_steps: int = 5,
        phantom_tau: float = 1.0,
        warmup_epochs: int = 0,
        jac_reg_weight: float = 0.0,
        jac_reg_samples: int = 1,
    ) -> None:
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"block={block!r} must be one of {BLOCKS}")
        if num_layers < 1:
            raise ValueError(f"num_layers={num_layers} must be at least 1")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs={warmup_epochs} must be non-negative")
        spec = conv_resolver(conv)
        self.conv_kwargs = conv_options(spec, CONV_DEFAULTS, conv_kwargs)
        if spec.initial:
            raise ValueError(
                f"conv={spec.name!r} reads the initial embedding in every block, which DEQGNN "
                "does not pass; use RevGNN with it"
            )
        if jac_reg_weight > 0:
            needed = (["reversible=False"] if block == "rev" and reversible else []) + (
                ['conv_kwargs={"lean": False}']
                if spec.name == "gen" and self.conv_kwargs.get("lean", True)
                else []
            )
            if needed:
                raise ValueError(
                    f"jac_reg_weight={jac_reg_weight} needs double backward through the block, "
                    "which reversible blocks and the lean GENConv aggregation do not support; "
                    f"pass {' and '.join(needed)} (the block then keeps its activations, once)"
                )
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.num_groups = num_groups
        self.edge_dim = edge_dim
        self.block = block
        self.spec = spec
        self.warmup_epochs = warmup_epochs
        self.encoder = NodeEncoder(
            in_channels, hidden_channels, edge_dim, input_dropout, spec.prepare
        )
        conv_edge_dim = hidden_channels if edge_dim is not None else None
        prepared = spec.prepare is not None
        if block == "rev":
            if hidden_channels % num_groups != 0:
                raise ValueError(
                    f"num_groups={num_groups} must divide hidden_channels={hidden_channels}"
                )
            rev = grouped_block(
                spec,
                hidden_channels,
                num_groups,
                conv_edge_dim,
                self.conv_kwargs,
                norm=norm,
                dropout=0.0,
                edge_dropout=0.0,
                prepared=prepared,
            )
            inner: nn.Module = ReversibleSequential.weight_tied(rev, 1, reversible, stream_dtype)
        else:
            layer = spec.make(
                hidden_channels,
                hidden_channels,
                conv_edge_dim,
                self.conv_kwargs,
                {"norm": norm},
                prepared=prepared,
            )
            inner = ResPlus(PreActConv(layer, hidden_channels, norm=norm))
        self.mask = SharedDropout(dropout)
        self.deq = DEQ(
            EquilibriumCell(inner, hidden_channels),
            solver=solver,
            max_iter=max_iter,
            tol=tol,
            solver_options=solver_options,
            grad=grad,
            backward_solver=backward_solver,
            backward_max_iter=backward_max_iter,
            backward_tol=backward_tol,
            backward_options=backward_options,
            phantom_steps=phantom_steps,
            phantom_tau=phantom_tau,
            unrolled_layers=num_layers,
            unrolled=warmup_epochs > 0,
            jac_reg_weight=jac_reg_weight,
            jac_reg_samples=jac_reg_samples,
        )
        self.head = Head(hidden_channels, out_channels, norm, dropout)

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
            raise ValueError("reversible applies to block='rev' only")
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
        what = "DEQGNN needs finite input (the equilibrium of non-finite input is undefined)"
        check_finite("x", x, what)
        check_finite("edge_attr", edge_attr, what)
        h, edge_index, kwargs = self.encoder(x, edge_index, edge_attr)
        mask = self.mask(h)
        return self.head(self.deq(h, edge_index, mask, **kwargs))

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.conv_kwargs.items())
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, block={self.block!r}, "
            f"num_groups={self.num_groups}, conv={self.spec.name!r}"
            f"{', ' + options if options else ''}, edge_dim={self.edge_dim}, "
            f"reversible={self.reversible}, warmup_epochs={self.warmup_epochs}, "
            f"deq={self.deq.extra_repr()})"
        )
