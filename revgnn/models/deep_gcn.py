r"""DeepGCNs: PlainGCN / ResGCN / DenseGCN for point clouds and graphs, and their reversible
form (Li, Müller, Thabet, Ghanem, "DeepGCNs: Can GCNs Go as Deep as CNNs?", ICCV 2019;
reversible blocks from Li, Müller, Ghanem, Koltun, ICML 2021)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from revgnn.models.deep_gcn_heads import HEADS
from revgnn.models.from_sizes import adopt_sizes
from revgnn.models.point_net import PointNet
from revgnn.models.registry import register_model
from revgnn.nn.conv.point_conv import POINT_CONVS
from revgnn.nn.dynamic_block import DYNAMIC_BLOCKS, DynamicBlock
from revgnn.nn.dynamic_conv import DynamicConv
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.utils.checks import all_finite, check_probability
from revgnn.utils.registry import resolve_name

__all__ = ["BACKBONES", "DeepGCN", "deep_gcn", "point_net"]

#: Backbone kinds: the three of DeepGCNs, and ``"rev"``, residual blocks made reversible.
BACKBONES = (*DYNAMIC_BLOCKS, "rev")


class DeepGCN(nn.Module):
    r"""A DeepGCN, by composition: a stem graph conv, a backbone of blocks, a fusion of the
    block outputs and a task head (Li, Müller, Thabet, Ghanem, "DeepGCNs: Can GCNs Go as Deep
    as CNNs?", ICCV 2019; reversible blocks from Li, Müller, Ghanem, Koltun, ICML 2021).

    On point clouds :math:`(B, N, C_{in})` every layer builds its own dilated k-NN graph: the
    stem from the first ``knn_channels`` input channels (xyz), every block from its input
    features (:class:`~revgnn.nn.DynamicConv`). On a graph (nodes :math:`(n, C_{in})` and an
    ``edge_index``, e.g. PPI) every layer uses the given static graph.

    The backbone (``blocks``) is a list of :class:`~revgnn.nn.DynamicBlock` (Plain / Res /
    Dense: every block's output is fused) or a :class:`~revgnn.ReversibleSequential` of
    :class:`~revgnn.GroupAddRev` blocks whose groups are :class:`~revgnn.nn.DynamicConv` (each
    group builds its k-NN graph from its own input, so the blocks stay invertible and the
    graphs are rebuilt in the backward pass: activation memory does not grow with depth). A
    fusion of every block's output would keep :math:`O(L N C)`, so a reversible backbone fuses
    the stem's output and the last block's (:math:`2C` channels) instead.

    :func:`revgnn.build_model` builds it from a :class:`~revgnn.config.PointModelConfig`
    (``model="deepgcn"``; the DeepGCN recipes of :mod:`revgnn.config` set the published ones).

    Args:
        stem (DynamicConv): The first graph conv (the reference's "head" conv).
        blocks (list of DynamicBlock or ReversibleSequential): The backbone's blocks.
        prediction (nn.Module): The task head on the fused features
            (:mod:`revgnn.models.deep_gcn_heads`).
        knn_channels (int): Input channels the stem's k-NN graph is built from. (default: ``3``)
        **settings: Sizes and settings, instead of the parts (above): called as its ``repr``
            reads, ``DeepGCN(9, 13, num_layers=28, task="segmentation")``, it builds itself
            with the library's defaults (:mod:`revgnn.models.from_sizes`); any other keyword is
            a :class:`~revgnn.config.PointModelConfig` field.

    Shapes:
        - **input:** points :math:`(B, N, C_{in})`, or nodes :math:`(n, C_{in})` and
          ``edge_index`` :math:`(2, E)`.
        - **output:** :math:`(B, N, \text{classes})` (segmentation, part),
          :math:`(B, \text{classes})` (classification) or :math:`(n, \text{classes})` (node).
    """

    def __init__(
        self,
        stem: DynamicConv | int | None = None,
        blocks: list[DynamicBlock] | ReversibleSequential | int | None = None,
        prediction: nn.Module | None = None,
        knn_channels: int = 3,
        **settings: Any,
    ) -> None:
        super().__init__()
        parts = {"stem": stem, "blocks": blocks, "prediction": prediction}
        shared = {"knn_channels": knn_channels} if knn_channels != 3 else {}
        if adopt_sizes(self, "deepgcn", "point", parts, {}, settings, shared):
            return
        self.stem = stem
        rev = isinstance(blocks, ReversibleSequential)
        self.backbone = blocks if rev else nn.ModuleList(blocks)
        self.prediction = prediction
        self.knn_channels = knn_channels

    @property
    def in_channels(self) -> int:
        return self.stem.conv.in_channels

    @property
    def out_channels(self) -> int | None:
        """The head's classes (``None`` for a head of the user's own without ``num_classes``)."""
        return getattr(self.prediction, "num_classes", None)

    @property
    def task(self) -> str:
        """The head's task (:data:`~revgnn.models.deep_gcn_heads.HEADS`), or its class name."""
        kind = type(self.prediction)
        return next((n for n, h in HEADS.items() if h is kind), kind.__name__)

    @property
    def num_blocks(self) -> int:
        """Layers, the stem included (ResGCN-28: 28)."""
        extra = self.backbone.num_layers if self.reversible_backbone else len(self.backbone)
        return 1 + extra

    @property
    def reversible_backbone(self) -> bool:
        return isinstance(self.backbone, ReversibleSequential)

    @property
    def reversible(self) -> bool:
        """Whether the backbone runs reversibly (``False`` for the non-reversible reference
        run of a reversible backbone; always ``False`` for the others)."""
        return self.reversible_backbone and self.backbone.reversible

    @reversible.setter
    def reversible(self, value: bool) -> None:
        if not self.reversible_backbone:
            if value:
                raise ValueError("this DeepGCN's backbone is not reversible")
            return
        self.backbone.reversible = value

    def reset_parameters(self) -> None:
        self.stem.reset_parameters()
        if self.reversible_backbone:
            self.backbone.reset_parameters()
        else:
            for block in self.backbone:
                block.reset_parameters()
        self.prediction.reset_parameters()

    def _check(self, x: Tensor, static: bool) -> None:
        if static and x.dim() != 2:
            raise ValueError(
                f"with an edge_index, x must be node features [num_nodes, channels], got "
                f"{list(x.shape)}"
            )
        if not static and x.dim() != 3:
            raise ValueError(
                f"x must be point clouds [batch, num_points, channels] (or node features with "
                f"an edge_index), got {list(x.shape)}"
            )
        if x.size(-1) != self.in_channels:
            raise ValueError(
                f"x has {x.size(-1)} channels, the model was built for in_channels="
                f"{self.in_channels}"
            )
        if not all_finite(x):
            raise ValueError("x holds NaN or inf values: the model needs finite points / features")

    def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        static = edge_index is not None
        self._check(x, static)
        if static:
            graph = edge_index
        else:
            self.stem.knn.train(self.training)
            graph = self.stem.knn(x[..., : self.knn_channels])
        h = self.stem(x, graph)
        if self.reversible_backbone:
            if static:
                last = self.backbone(h, edge_index)
            else:
                b, n, c = h.shape
                last = self.backbone(h.reshape(b * n, c), None, num_points=n).view(b, n, c)
            feats = torch.cat([h, last.to(h.dtype)], dim=-1)
        else:
            outs = [h]
            for block in self.backbone:
                outs.append(block(outs[-1], edge_index))
            feats = torch.cat(outs, dim=-1)
        return self.prediction(feats)

    def __repr__(self) -> str:
        kind = "rev" if self.reversible_backbone else self.backbone[0].block
        conv = next(n for n, c in POINT_CONVS.items() if type(self.stem.conv) is c)
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"num_layers={self.num_blocks}, task={self.task!r}, backbone={kind!r}, "
            f"conv={conv!r}, k={self.stem.knn.k})"
        )


@register_model("deepgcn", family="point")
def deep_gcn(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    task: str,
    num_layers: int,
    hidden_channels: int,
    backbone: str,
    conv: str,
    k: int,
    dilated: bool,
    max_dilation: int | None,
    stochastic: bool,
    epsilon: float,
    norm: str | None,
    head_bias: bool,
    knn_channels: int,
    emb_dims: int,
    dropout: float,
    num_groups: int,
    knn_chunk: int | None,
    knn_graphs: str,
) -> DeepGCN:
    """A DeepGCN of ``num_layers`` layers (the stem conv included) of ``hidden_channels``:
    block :math:`i` (0-based) builds its k-NN graph with dilation :math:`1 + i`
    (``dilated``; capped at ``max_dilation`` if given), stochastic dilation in training if
    ``stochastic`` (probability ``epsilon``); a ``"plain"`` backbone uses neither, as the
    reference. ``"dense"`` grows by ``hidden_channels`` per block; ``"rev"`` has
    ``num_groups`` groups per block, whose k-NN graphs are searched again in the backward
    pass (``knn_graphs="recompute"``) or kept from the forward pass (``"keep"``). ``task``
    picks the head (``"segmentation"``, ``"part"``, ``"classification"``, ``"node"``)."""
    if edge_dim is not None:
        raise ValueError(f"a DeepGCN takes no edge features (got edge_dim={edge_dim})")
    task = resolve_name(task, HEADS, "task")
    backbone = resolve_name(backbone, BACKBONES, "backbone")
    if num_layers < 2:
        raise ValueError(f"num_layers={num_layers} must be at least 2 (the stem + one block)")
    if max_dilation is not None and max_dilation < 1:
        raise ValueError(f"max_dilation={max_dilation} must be at least 1 (or None)")
    if not 1 <= knn_channels <= in_channels:
        raise ValueError(f"knn_channels={knn_channels} must lie in [1, in_channels={in_channels}]")
    if knn_graphs not in ("recompute", "keep"):
        raise ValueError(f"knn_graphs={knn_graphs!r} is not one of recompute, keep")
    if backbone == "rev" and hidden_channels % num_groups != 0:
        raise ValueError(f"num_groups={num_groups} must divide hidden_channels={hidden_channels}")
    check_probability("epsilon", epsilon)
    if backbone == "plain":
        dilated, stochastic = False, False

    def dilation(i: int) -> int:
        d = 1 + i if dilated else 1
        return min(d, max_dilation) if max_dilation is not None else d

    mlp = {"act": "relu", "norm": norm, "bias": True}
    graph: dict[str, Any] = {"conv": conv, "k": k, "stochastic": stochastic, "epsilon": epsilon}
    graph["chunk_size"] = knn_chunk
    group = {**graph, **mlp, "keep_graph": knn_graphs == "keep"}
    stem = DynamicConv(in_channels, hidden_channels, **graph, act="relu", norm=norm, bias=head_bias)
    blocks = num_layers - 1
    if backbone == "rev":
        width = hidden_channels // num_groups
        body: Any = ReversibleSequential(
            [
                GroupAddRev(
                    DynamicConv(width, width, **group, dilation=dilation(i)),
                    num_groups=num_groups,
                )
                for i in range(blocks)
            ]
        )
        fusion = 2 * hidden_channels
    else:
        body, width = [], hidden_channels
        for i in range(blocks):
            block = DynamicBlock(
                width, backbone, growth=hidden_channels, **graph, **mlp, dilation=dilation(i)
            )
            body.append(block)
            width = block.out_channels
        fusion = hidden_channels + sum(b.out_channels for b in body)
    head_kwargs: dict[str, Any] = {"emb_dims": emb_dims, "norm": norm, "dropout": dropout}
    if task in ("segmentation", "node"):
        head_kwargs.update(act="relu", bias=True)
    prediction = HEADS[task](fusion, out_channels, **head_kwargs)
    return DeepGCN(stem, body, prediction, knn_channels)


@register_model("pointnet", family="point")
def point_net(
    in_channels: int,
    out_channels: int,
    edge_dim: int | None,
    *,
    task: str,
    emb_dims: int,
    dropout: float,
) -> PointNet:
    """The graph-free :class:`~revgnn.models.PointNet` baseline: a classifier for
    ``task="classification"``, a per-point head otherwise."""
    if edge_dim is not None:
        raise ValueError(f"PointNet takes no edge features (got edge_dim={edge_dim})")
    kind = "classification" if task == "classification" else "segmentation"
    return PointNet(in_channels, out_channels, kind, emb_dims, dropout)
