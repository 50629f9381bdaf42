r"""RevGNN: a deep GNN of grouped reversible pre-activation blocks."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.models.encoder import NodeEncoder
from revgnn.models.from_sizes import adopt_sizes
from revgnn.models.head import Head
from revgnn.models.registry import register_model
from revgnn.nn.conv.propagate_hooks import explaining
from revgnn.nn.conv.registry import CONVS, ConvSpec, conv_resolver
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.nn.shared_dropout import SharedDropout
from revgnn.utils.checks import check_positive, check_probability
from revgnn.utils.registry import resolve_name

__all__ = ["RevGNN", "grouped_block", "rev_gnn"]

DTYPES = {"float64": torch.float64, "float32": torch.float32}


def grouped_block(
    spec: ConvSpec,
    channels: int,
    num_groups: int,
    conv_edge_dim: int | None,
    conv_options: dict[str, Any],
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
        conv = spec.make(group, group, conv_edge_dim, conv_options, defaults, prepared=prepared)
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


def _reads_initial(conv: nn.Module | None) -> bool:
    # The convention of initial-residual convs (revgnn.nn.conv.registry): a required x0.
    if conv is None:
        return False
    x0 = inspect.signature(conv.forward).parameters.get("x0")
    return x0 is not None and x0.default is inspect.Parameter.empty


class RevGNN(nn.Module):
    r"""The RevGNN of Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000
    Layers" <https://arxiv.org/abs/2106.07476>`_ (ICML 2021), by composition:

    .. math::

        \mathbf{H}_0 = \mathrm{Encoder}(\mathbf{X}), \qquad
        \mathbf{H}_{l} = \mathrm{RevBlock}_l(\mathbf{H}_{l-1}, \mathbf{A}, \mathbf{U}), \qquad
        \mathbf{Y} = \mathrm{Head}(\mathbf{H}_L)

    ``layers`` is a :class:`~revgnn.ReversibleSequential` of :class:`~revgnn.GroupAddRev`
    blocks (weight-tied for WT-RevGNN), so activation memory does not grow with depth; the
    encoder (:class:`~revgnn.models.NodeEncoder`: input dropout, node and shared edge
    encoders, the graph checked and preprocessed once) and the head
    (:class:`~revgnn.models.Head`: Norm -> ReLU -> Dropout -> Linear) are the modules every
    node model shares. ``mask`` draws one dropout mask per step for all blocks (the paper's
    shared dropout), ``initial`` passes the initial embedding to every block (for
    initial-residual convs such as GCNII; that embedding is then :math:`\mathrm{ReLU}(
    \mathrm{Encoder}(\mathbf{X}))`, GCNII's: each block's pre-activation clips the stream it
    reads, and a signed initial residual would feed back the negative half that every block
    clips. On Cora, 64 additive blocks, 3 seeds: 0.835 against 0.818-0.826 without it), and
    ``zero_stream`` starts the reversible stream at
    zero instead of :math:`\mathbf{H}_0`, which then enters every block through that initial
    residual only (with additive coupling the stream's volume is preserved, so what the blocks
    add, not a copy of the input, is what reaches the head).

    :func:`revgnn.build_model` builds it from a :class:`~revgnn.config.ModelConfig`
    (``model="revgnn"`` or ``"wt-revgnn"``): ``hidden_channels=80``, ``num_layers=1001``,
    ``conv="gen"`` with ``aggr="max"`` and ``edge_dim=8`` is RevGNN-Deep of the paper
    (20.03M parameters on ogbn-proteins; the recipe ``ogbn-proteins/revgnn-deep``).

    Called with sizes, as its ``repr`` reads, it builds itself with the library's defaults
    (:mod:`revgnn.models.from_sizes`): ``RevGNN(1433, 64, 7, num_layers=64)``, or
    ``RevGNN(in_channels=1433, hidden_channels=64, out_channels=7, num_layers=64,
    conv="gen", weight_tied=True)``; any other keyword is a
    :class:`~revgnn.config.ModelConfig` field, ``edge_dim`` or ``reversible``.

    Args:
        encoder (NodeEncoder): The input side.
        layers (ReversibleSequential): The reversible body.
        head (Head): The output side.
        mask (SharedDropout, optional): One dropout mask per step for every block.
        initial (bool): Pass the initial embedding to every block. (default: ``False``)
        zero_stream (bool): Start the stream at zero (needs ``initial``). (default: ``False``)
        **settings: Sizes and settings, instead of the parts (above).

    Shapes:
        - **input:** node features :math:`(N, F_{in})`, edge indices :math:`(2, E)` (int64 or
          int32) or a sparse adjacency, edge features :math:`(E, F_{edge})` *(optional)*
        - **output:** :math:`(N, F_{out})`
    """

    def __init__(
        self,
        encoder: NodeEncoder | int | None = None,
        layers: ReversibleSequential | int | None = None,
        head: Head | int | None = None,
        mask: SharedDropout | None = None,
        initial: bool = False,
        zero_stream: bool = False,
        **settings: Any,
    ) -> None:
        super().__init__()
        tied = settings.pop("weight_tied", False)
        parts = {"encoder": encoder, "layers": layers, "head": head}
        remedies = {
            "mask": "shared_dropout=True",
            "initial": "an initial-residual conv (conv='gcnii')",
            "zero_stream": "stream_init='zero'",
        }
        given = {"mask": mask is not None, "initial": initial, "zero_stream": zero_stream}
        options = {k: remedies[k] for k, v in given.items() if v}
        if adopt_sizes(self, "wt-revgnn" if tied else "revgnn", "node", parts, options, settings):
            return
        if tied:
            raise TypeError(
                "weight_tied=True is a setting of a RevGNN built from sizes; built from parts, "
                "tie the layers with layers=ReversibleSequential.weight_tied(block, num_layers)"
            )
        if not isinstance(layers, ReversibleSequential):
            raise TypeError(f"layers must be a ReversibleSequential, got {type(layers).__name__}")
        if zero_stream and not initial:
            raise ValueError(
                "zero_stream=True needs initial=True (an initial-residual conv such as gcnii): "
                "otherwise the input never reaches the blocks"
            )
        conv = getattr(layers.blocks[0].convs[0], "conv", None)
        if not initial and _reads_initial(conv):
            raise ValueError(
                f"the blocks' {type(conv).__name__} reads the initial embedding (its x0): pass "
                "initial=True, so that the model hands it to every block"
            )
        self.zero_stream = zero_stream
        self.encoder = encoder
        self.layers = layers
        self.mask = mask
        self.head = head
        self.initial = initial

    @property
    def num_layers(self) -> int:
        return self.layers.num_layers

    @property
    def num_groups(self) -> int:
        return self.layers.blocks[0].num_groups

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
        explain = explaining(self)
        with self.encoder.checked(x, edge_index, edge_attr, explain) as (h, edge_index, kwargs):
            mask = self.mask(h) if self.mask is not None else None
            # An initial-residual conv reads the initial embedding in every block (each group
            # its own channels of it: a positional tensor of the stream's width is split).
            if self.initial:
                h = torch.relu(h)
            start = torch.zeros_like(h) if self.zero_stream else h
            h = self.layers(start, edge_index, mask, h if self.initial else None, **kwargs)
            return self.head(h)

    def __repr__(self) -> str:
        conv = self.layers.blocks[0].convs[0].conv
        return (
            f"{self.__class__.__name__}({self.encoder.in_channels}, "
            f"{self.encoder.out_channels}, {self.head.out_channels}, "
            f"num_layers={self.num_layers}, num_groups={self.num_groups}, conv={conv}, "
            f"edge_dim={self.encoder.edge_dim}, weight_tied={self.weight_tied}, "
            f"zero_stream={self.zero_stream}, reversible={self.reversible})"
        )


@register_model("revgnn", family="node")
def rev_gnn(
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
    edge_dropout: float,
    shared_dropout: bool,
    branch_gate: float | None,
    branch_scale: float | None,
    stream_init: str,
    stream_dtype: str,
    snapshot_every: int | None,
    damping: float,
    weight_tied: bool = False,
) -> RevGNN:
    r"""A :class:`RevGNN` of ``num_layers`` blocks of ``num_groups`` groups, each group
    Norm -> ReLU -> Dropout -> ``conv`` (its ``conv_options``; ``norm`` and the block's depth
    offered to convs that take them), with the dropout mask shared by all blocks
    (``shared_dropout``) or drawn in every block (replayed exactly in the backward pass); a
    learnable gate on every branch starting at ``branch_gate`` (``0.0``: ReZero) and a fixed
    factor ``branch_scale``; the residual stream in ``stream_dtype``, starting at the encoded
    input or at zero (``stream_init``; ``"zero"`` needs an initial-residual conv, and the
    recipe's ``"auto"`` is :func:`revgnn.config.adapt.stream_init_rule`). Edge features pass
    through one shared edge encoder and reach every group unsplit. ``weight_tied``: one
    block's weights at every layer (WT-RevGNN), built as the stack's last block (a conv that
    takes the block's depth gets ``num_layers``: GCNII's identity mapping
    :math:`\beta_L = \log(\theta / L + 1)`, so that its :math:`L` applications mix in the
    weight about :math:`\theta` in all at any depth). ``damping``: the coupling's damping (see
    :class:`~revgnn.ReversibleSequential`)."""
    for name, value in (("hidden_channels", hidden_channels), ("num_layers", num_layers)):
        check_positive(name, value)
    if num_groups < 2:
        raise ValueError(f"num_groups={num_groups} must be at least 2")
    if hidden_channels % num_groups != 0:
        raise ValueError(f"num_groups={num_groups} must divide hidden_channels={hidden_channels}")
    check_probability("dropout", dropout)
    check_probability("edge_dropout", edge_dropout)
    spec = conv_resolver(conv)
    stream_init = resolve_name(stream_init, ("input", "zero"), "stream_init")
    if stream_init == "zero" and not spec.initial:
        initial = ", ".join(n for n in CONVS.names() if conv_resolver(n).initial)
        raise ValueError(
            f"stream_init='zero' needs an initial-residual conv ({initial}); conv={spec.name!r} "
            "would never see the input: use stream_init='input'"
        )
    # Without edge dropout every block sees the same graph: preprocess it once, not in each
    # block and again in each backward recompute.
    prepared = spec.prepare is not None and edge_dropout == 0.0
    encoder = NodeEncoder(
        in_channels, hidden_channels, edge_dim, input_dropout, spec.prepare if prepared else None
    )

    def block(layer: int = 1) -> GroupAddRev:
        return grouped_block(
            spec,
            hidden_channels,
            num_groups,
            # The shared edge encoder's output reaches every group unsplit.
            hidden_channels if edge_dim is not None else None,
            conv_options,
            norm=norm,
            dropout=0.0 if shared_dropout else dropout,
            edge_dropout=edge_dropout,
            prepared=prepared,
            layer=layer,
            branch_scale=branch_scale,
            branch_gate=branch_gate,
        )

    dtype = DTYPES[stream_dtype]
    if weight_tied:
        # GCNII's beta_l shrinks with depth so that deep blocks stay near the identity; one
        # block at beta_1 = 0.41 applied 64 times trained to 0.40 on Cora, at beta_64 to 0.83.
        layers = ReversibleSequential.weight_tied(
            block(num_layers), num_layers, True, dtype, snapshot_every, damping
        )
    else:
        blocks = [block(layer) for layer in range(1, num_layers + 1)]
        layers = ReversibleSequential(blocks, True, dtype, snapshot_every, damping)
    mask = SharedDropout(dropout) if shared_dropout else None
    head = Head(hidden_channels, out_channels, norm, dropout)
    return RevGNN(
        encoder, layers, head, mask, initial=spec.initial, zero_stream=stream_init == "zero"
    )


register_model("wt-revgnn", family="node")(functools.partial(rev_gnn, weight_tied=True))
