r"""DEQ-GNN: the equilibrium of a weight-tied (reversible) GENConv block with input injection."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from revgnn.block import PreActConv
from revgnn.deq import DEQ
from revgnn.gen_conv import GENConv
from revgnn.models.rev_gnn import RevGNN
from revgnn.reversible import ReversibleSequential, reset_module

BLOCKS = ("rev", "res+")


class ResPlus(nn.Module):
    r"""The DeeperGCN res+ layer :math:`\mathbf{X} + f(\mathbf{X})` around a
    :class:`~revgnn.PreActConv` (or any ``f(x, edge_index, *args, **kwargs)``)."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def reset_parameters(self) -> None:
        reset_module(self.fn)

    def forward(self, x: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> Tensor:
        return x + self.fn(x, edge_index, *args, **kwargs)


class EquilibriumCell(nn.Module):
    r"""The function :math:`f_\theta` of DEQ-GNN,

    .. math::

        f_\theta(\mathbf{Z}, \mathbf{X}) = \mathrm{LayerNorm}\big(
        \mathrm{Block}(\mathbf{Z} + \mathbf{X}, \mathbf{A}, \mathbf{U})\big),

    input injection by addition and a per-node LayerNorm after the block, as in the
    multiscale DEQ's residual cells (Bai, Koltun, Kolter, NeurIPS 2020). The block is
    residual (:math:`\mathbf{Z} \mapsto \mathbf{Z} + \dots`), so without the normalisation
    :math:`f_\theta` has Jacobian :math:`\mathbf{I} + \dots` and no attracting fixed point; the
    LayerNorm bounds every node's state (an equilibrium exists by Brouwer's theorem) and
    divides the identity path by the node's standard deviation.

    Args:
        block (torch.nn.Module): Called as ``block(h, edge_index, dropout_mask, **kwargs)``:
            a one-layer weight-tied :class:`~revgnn.ReversibleSequential` or a
            :class:`ResPlus`.
        channels (int): The state width :math:`D`.
    """

    def __init__(self, block: nn.Module, channels: int) -> None:
        super().__init__()
        self.block = block
        self.norm = nn.LayerNorm(channels)

    def reset_parameters(self) -> None:
        reset_module(self.block)
        self.norm.reset_parameters()

    def forward(
        self,
        z: Tensor,
        x: Tensor,
        edge_index: Any,
        dropout_mask: Tensor | None = None,
        edge_attr: Tensor | None = None,
    ) -> Tensor:
        kwargs = {} if edge_attr is None else {"edge_attr": edge_attr}
        return self.norm(self.block(z + x, edge_index, dropout_mask, **kwargs))


class DEQGNN(RevGNN):
    r"""The DEQ-GNN of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000
    Layers" <https://arxiv.org/abs/2106.07476>`_ (ICML 2021): an implicit GNN whose output is
    the equilibrium of one weight-tied block with input injection.

    .. math::

        \mathbf{X}_0 = \mathrm{Lin}(\mathbf{X}), \qquad
        \mathbf{Z}^\star = f_\theta(\mathbf{Z}^\star, \mathbf{X}_0), \qquad
        \mathbf{Y} = \mathrm{Lin}(\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{Norm}(
        f_\theta(\mathbf{Z}^\star, \mathbf{X}_0)))))

    with :math:`f_\theta` the :class:`EquilibriumCell` around a grouped reversible
    GENConv block (``block="rev"``, the block of :class:`~revgnn.models.RevGNN`) or a plain
    res+ GENConv block (``block="res+"``), solved by a :class:`~revgnn.DEQ` layer: solver
    iterations without autograd, one tracked application, implicit (or phantom) gradients, so
    activation memory does not depend on the number of iterations. The input encoder, shared
    edge encoder, shared dropout mask and head are those of
    :class:`~revgnn.models.RevGNN` (this class derives from it).

    ``num_layers`` is the depth of the weight-tied unrolled network used for the first
    ``warmup_epochs`` epochs (the paper's protocol) and whenever :attr:`unrolled` is set; the
    equilibrium itself has no depth. A trainer calls :meth:`epoch_start` at every epoch and
    :meth:`log_metrics` after every step.

    Parameters: the cell, :math:`\approx 3D^2` for ``mlp_layers=2`` and two groups (each
    group's GENConv has a :math:`D/2 \to D \to D/2` MLP, :math:`D^2` for both groups, and
    with edge features a :math:`D \to D/2` edge projection), plus the encoders and the head;
    independent of ``num_layers``. On ogbn-proteins' sizes (8 node and edge features, 112
    tasks) that is 21,616 parameters at :math:`D = 64` and 182,896 at :math:`D = 224`, against
    51.3k and 537k published for DEQ-GNN-64/-224, whose cell was never released (the published
    figures fit a cell of about :math:`10 D^2`).

    Args:
        in_channels (int): Input node feature size.
        hidden_channels (int): Width :math:`D` of the state.
        out_channels (int): Output size (classes or tasks).
        num_layers (int): Depth of the unrolled weight-tied warm-up network.
        edge_dim (int, optional): Edge feature size, or ``None``. (default: ``None``)
        block (str, optional): ``"rev"`` (grouped reversible) or ``"res+"``.
            (default: ``"rev"``)
        num_groups (int, optional): Groups of the reversible block. (default: ``2``)
        aggr (str, optional): GENConv aggregation. (default: ``"max"``)
        t (float, optional): Initial softmax inverse temperature. (default: ``1.0``)
        learn_t (bool, optional): Learn ``t``. (default: ``False``)
        p (float, optional): Initial power of the power mean. (default: ``1.0``)
        learn_p (bool, optional): Learn ``p``. (default: ``False``)
        mlp_layers (int, optional): Layers of GENConv's MLP. (default: ``2``)
        norm (str, optional): Normalisation inside the block (and its GENConv MLP) and before
            the head. The default differs from RevGNN's: with BatchNorm's batch statistics
            inside :math:`f_\theta`, the cell measured spectral radius 1.3-1.5 at the
            equilibrium at initialisation on Cora (no solver converged), against 0.93-0.94 with
            ``"layer"``. (default: ``"layer"``)
        dropout (float, optional): Dropout inside the block (one mask per step, the same at
            every solver iteration) and before the head. (default: ``0.1``)
        input_dropout (float, optional): Dropout on the input features. (default: ``0.0``)
        reversible (bool, optional): For ``block="rev"``: ``False`` runs the same block with
            ordinary autograd (needed for ``jac_reg_weight > 0``). (default: ``True``)
        stream_dtype (torch.dtype, optional): Residual-stream dtype of the reversible block.
            (default: ``torch.float64``)
        lean (bool, optional): Memory-lean GENConv aggregation (see
            :class:`~revgnn.GENConv`); ``False`` is needed for ``jac_reg_weight > 0``.
            (default: ``True``)
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
            :class:`~revgnn.DEQ`; needs double backward, so ``lean=False`` and, for
            ``block="rev"``, ``reversible=False``. (default: ``0.0``)
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
        aggr: str = "max",
        t: float = 1.0,
        learn_t: bool = False,
        p: float = 1.0,
        learn_p: bool = False,
        mlp_layers: int = 2,
        norm: str = "layer",
        dropout: float = 0.1,
        input_dropout: float = 0.0,
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
        lean: bool = True,
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
        if block not in BLOCKS:
            raise ValueError(f"block={block!r} must be one of {BLOCKS}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs={warmup_epochs} must be non-negative")
        if jac_reg_weight > 0:
            needed = (["reversible=False"] if block == "rev" and reversible else []) + (
                ["lean=False"] if lean else []
            )
            if needed:
                raise ValueError(
                    f"jac_reg_weight={jac_reg_weight} needs double backward through the block, "
                    "which reversible blocks and the lean GENConv aggregation do not support; "
                    f"pass {' and '.join(needed)} (the block then keeps its activations, once)"
                )
        # RevGNN builds the encoders, the shared dropout, the head and the weight-tied
        # reversible block; the block is then wrapped into the equilibrium cell.
        super().__init__(
            in_channels,
            hidden_channels,
            out_channels,
            num_layers=num_layers,
            num_groups=num_groups,
            edge_dim=edge_dim,
            aggr=aggr,
            t=t,
            learn_t=learn_t,
            p=p,
            learn_p=learn_p,
            mlp_layers=mlp_layers,
            norm=norm,
            dropout=dropout,
            input_dropout=input_dropout,
            shared_dropout=True,
            weight_tied=True,
            reversible=reversible,
            stream_dtype=stream_dtype,
            lean=lean,
        )
        self.block = block
        self.warmup_epochs = warmup_epochs
        if block == "rev":
            inner: nn.Module = ReversibleSequential.weight_tied(
                self.layers.blocks[0], 1, reversible=reversible, stream_dtype=stream_dtype
            )
        else:
            conv = GENConv(
                hidden_channels,
                hidden_channels,
                aggr,
                t=t,
                learn_t=learn_t,
                p=p,
                learn_p=learn_p,
                norm=norm,
                num_layers=mlp_layers,
                bias=True,
                edge_dim=hidden_channels if edge_dim is not None else None,
                lean=lean,
            )
            inner = ResPlus(PreActConv(conv, hidden_channels, norm=norm))
        self.layers = DEQ(
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

    @property
    def deq(self) -> DEQ:
        """The equilibrium layer (solver settings, last stats)."""
        return self.layers

    @property
    def num_layers(self) -> int:
        return self.layers.unrolled_layers

    @property
    def weight_tied(self) -> bool:
        return True

    @property
    def reversible(self) -> bool:
        inner = self.layers.f.block
        return isinstance(inner, ReversibleSequential) and inner.reversible

    @reversible.setter
    def reversible(self, value: bool) -> None:
        inner = self.layers.f.block
        if not isinstance(inner, ReversibleSequential):
            raise ValueError("reversible applies to block='rev' only")
        inner.reversible = value

    @property
    def unrolled(self) -> bool:
        """Whether the model runs as the unrolled weight-tied network of ``num_layers``."""
        return self.layers.unrolled

    @unrolled.setter
    def unrolled(self, value: bool) -> None:
        self.layers.unrolled = value

    def epoch_start(self, epoch: int) -> None:
        """Called by the trainer before epoch ``epoch`` (counted from 1): epochs
        ``1 .. warmup_epochs`` train the unrolled network, later ones the equilibrium."""
        if self.warmup_epochs > 0:
            self.layers.unrolled = epoch <= self.warmup_epochs

    def log_metrics(self) -> dict[str, float]:
        """The last forward / adjoint solve's iterations, best relative residual and
        convergence (1/0), counts of unconverged solves, and the mode (``deq_unrolled``)."""
        return {f"deq_{k}": v for k, v in self.layers.metrics().items()}

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor | None = None) -> Tensor:
        for name, value in (("x", x), ("edge_attr", edge_attr)):
            if (
                value is not None
                and value.is_floating_point()
                and not torch.isfinite(value.detach()).all()
            ):
                raise ValueError(
                    f"{name} has NaN or inf entries; DEQGNN needs finite input (the equilibrium "
                    "of non-finite input is undefined)"
                )
        return super().forward(x, edge_index, edge_attr)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
            f"{self.out_channels}, num_layers={self.num_layers}, block={self.block!r}, "
            f"num_groups={self.num_groups}, aggr={self.aggr!r}, edge_dim={self.edge_dim}, "
            f"reversible={self.reversible}, warmup_epochs={self.warmup_epochs}, "
            f"deq={self.layers.extra_repr()})"
        )
