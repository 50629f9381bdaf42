r"""DeepGCNs: PlainGCN / ResGCN / DenseGCN for point clouds and graphs, and their reversible
form (Li, Müller, Thabet, Ghanem, "DeepGCNs: Can GCNs Go as Deep as CNNs?", ICCV 2019;
reversible blocks from Li, Müller, Ghanem, Koltun, ICML 2021)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from revgnn.models.deep_gcn_heads import HEADS
from revgnn.nn.dynamic_block import DYNAMIC_BLOCKS, DynamicBlock
from revgnn.nn.dynamic_conv import DynamicConv
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.utils.checks import check_probability

__all__ = ["BACKBONES", "DeepGCN"]

#: Backbone kinds: the three of DeepGCNs, and ``"rev"``, residual blocks made reversible.
BACKBONES = (*DYNAMIC_BLOCKS, "rev")


class DeepGCN(nn.Module):
    r"""A DeepGCN: a head graph conv, ``num_blocks - 1`` backbone blocks, a fusion of the
    block outputs and a task head.

    On point clouds :math:`(B, N, C_{in})` every layer builds its own dilated k-NN graph: the
    head layer from the first ``knn_channels`` input channels (xyz), block :math:`i`
    (0-based) from its input features with dilation :math:`d_i = 1 + i` (``dilated=True``;
    capped at ``max_dilation`` if given), stochastic dilation in training if ``stochastic``.
    On a graph (nodes :math:`(n, C_{in})` and an ``edge_index``, e.g. PPI) every layer uses
    the given static graph.

    Backbones (:math:`\mathcal{F}` a conv on the layer's graph): ``"plain"``
    :math:`x' = \mathcal{F}(x)` (no dilation, no stochastic dilation, as in the reference);
    ``"res"`` :math:`x' = \mathcal{F}(x) + x`; ``"dense"`` :math:`x' = [x, \mathcal{F}(x)]`;
    ``"rev"``: grouped reversible residual blocks (:class:`~revgnn.GroupAddRev` with
    ``num_groups`` groups) in a :class:`~revgnn.ReversibleSequential`, each group function a
    :class:`~revgnn.nn.DynamicConv` that builds its k-NN graph from its own input, so the
    blocks stay invertible and the dynamic graphs are rebuilt in the backward pass:
    activation memory does not grow with depth. A fusion of every block's output would keep
    :math:`O(L N C)`, so the reversible backbone fuses the head's output and the last
    block's (:math:`2C` channels) instead of all :math:`L` of them.

    Args:
        in_channels (int): Input channels :math:`C_{in}` (point clouds: xyz first).
        out_channels (int): Classes (or labels).
        task (str): The head: ``"segmentation"`` (per point, S3DIS), ``"part"`` (per point,
            PartNet), ``"classification"`` (per cloud, ModelNet40) or ``"node"`` (per node,
            PPI). (default: ``"segmentation"``)
        num_blocks (int): Layers, the head conv included (ResGCN-28: 28). (default: ``28``)
        channels (int): Width :math:`C` (the growth of a dense backbone). (default: ``64``)
        backbone (str): ``"plain"``, ``"res"``, ``"dense"`` or ``"rev"``. (default: ``"res"``)
        conv (str): ``"edge"``, ``"mr"``, ``"sage"`` or ``"gin"``. (default: ``"edge"``)
        k (int): Neighbours per point. (default: ``16``)
        dilated (bool): Dilation growing with depth. (default: ``True``)
        max_dilation (int, optional): Cap on the dilation (``None``: none, as the reference).
        stochastic (bool): Stochastic dilation in training. (default: ``False``)
        epsilon (float): Its probability. (default: ``0.2``)
        act (str): Activation of the backbone's MLPs. (default: ``"relu"``)
        norm (str, optional): Their normalisation. (default: ``"batch"``)
        bias (bool): Their biases. (default: ``True``)
        head_bias (bool): Bias of the head conv. (default: ``True``)
        knn_channels (int): Input channels the head layer's k-NN graph is built from.
            (default: ``3``)
        emb_dims (int): Width of the fusion. (default: ``1024``)
        dropout (float): The task head's dropout. (default: ``0.3``)
        num_groups (int): Groups of a reversible block. (default: ``2``)
        chunk_size (int, optional): Query points per k-NN distance chunk.

    Shapes:
        - **input:** points :math:`(B, N, C_{in})`, or nodes :math:`(n, C_{in})` and
          ``edge_index`` :math:`(2, E)`.
        - **output:** :math:`(B, N, \text{classes})` (segmentation, part),
          :math:`(B, \text{classes})` (classification) or :math:`(n, \text{classes})` (node).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        task: str = "segmentation",
        num_blocks: int = 28,
        channels: int = 64,
        backbone: str = "res",
        conv: str = "edge",
        k: int = 16,
        dilated: bool = True,
        max_dilation: int | None = None,
        stochastic: bool = False,
        epsilon: float = 0.2,
        act: str = "relu",
        norm: str | None = "batch",
        bias: bool = True,
        head_bias: bool = True,
        knn_channels: int = 3,
        emb_dims: int = 1024,
        dropout: float = 0.3,
        num_groups: int = 2,
        chunk_size: int | None = None,
    ) -> None:
        super().__init__()
        if task not in HEADS:
            raise ValueError(f"task={task!r} is not one of {', '.join(HEADS)}")
        if backbone not in BACKBONES:
            raise ValueError(f"backbone={backbone!r} is not one of {', '.join(BACKBONES)}")
        if num_blocks < 2:
            raise ValueError(f"num_blocks={num_blocks} must be at least 2 (head + one block)")
        if max_dilation is not None and max_dilation < 1:
            raise ValueError(f"max_dilation={max_dilation} must be at least 1 (or None)")
        if not 1 <= knn_channels <= in_channels:
            raise ValueError(
                f"knn_channels={knn_channels} must lie in [1, in_channels={in_channels}]"
            )
        if backbone == "rev" and channels % num_groups != 0:
            raise ValueError(f"num_groups={num_groups} must divide channels={channels}")
        check_probability("epsilon", epsilon)
        self.settings: dict[str, Any] = {
            "task": task,
            "num_blocks": num_blocks,
            "channels": channels,
            "backbone": backbone,
            "conv": conv,
            "k": k,
        }
        self.task, self.backbone_kind = task, backbone
        self.in_channels, self.out_channels = in_channels, out_channels
        self.knn_channels = knn_channels
        if backbone == "plain":
            dilated, stochastic = False, False

        def dilation(i: int) -> int:
            d = 1 + i if dilated else 1
            return min(d, max_dilation) if max_dilation is not None else d

        mlp = {"act": act, "norm": norm, "bias": bias}
        graph = {"conv": conv, "k": k, "stochastic": stochastic, "epsilon": epsilon}
        graph["chunk_size"] = chunk_size
        self.head = DynamicConv(in_channels, channels, **graph, act=act, norm=norm, bias=head_bias)
        blocks = num_blocks - 1
        if backbone == "rev":
            width = channels // num_groups
            self.backbone = ReversibleSequential(
                [
                    GroupAddRev(
                        DynamicConv(width, width, **graph, **mlp, dilation=dilation(i)),
                        num_groups=num_groups,
                    )
                    for i in range(blocks)
                ]
            )
            fusion_dims = 2 * channels
        else:
            layers, width = [], channels
            for i in range(blocks):
                block = DynamicBlock(
                    width, backbone, growth=channels, **graph, **mlp, dilation=dilation(i)
                )
                layers.append(block)
                width = block.out_channels
            self.backbone = nn.ModuleList(layers)
            fusion_dims = channels + sum(b.out_channels for b in layers)
        head = HEADS[task]
        head_kwargs: dict[str, Any] = {"emb_dims": emb_dims, "norm": norm, "dropout": dropout}
        if task in ("segmentation", "node"):
            head_kwargs.update(act=act, bias=bias)
        self.prediction = head(fusion_dims, out_channels, **head_kwargs)

    @property
    def reversible(self) -> bool:
        """Whether the backbone runs reversibly (``False`` for the non-reversible reference
        run of a ``"rev"`` backbone; always ``False`` for the others)."""
        return isinstance(self.backbone, ReversibleSequential) and self.backbone.reversible

    @reversible.setter
    def reversible(self, value: bool) -> None:
        if not isinstance(self.backbone, ReversibleSequential):
            if value:
                raise ValueError(f"backbone={self.backbone_kind!r} is not reversible")
            return
        self.backbone.reversible = value

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        if isinstance(self.backbone, ReversibleSequential):
            self.backbone.reset_parameters()
        else:
            for block in self.backbone:
                block.reset_parameters()
        self.prediction.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        static = edge_index is not None
        if static:
            if x.dim() != 2:
                raise ValueError(
                    f"with an edge_index, x must be node features [num_nodes, channels], got "
                    f"{list(x.shape)}"
                )
        elif x.dim() != 3:
            raise ValueError(
                f"x must be point clouds [batch, num_points, channels] (or node features with "
                f"an edge_index), got {list(x.shape)}"
            )
        if x.size(-1) != self.in_channels:
            raise ValueError(
                f"x has {x.size(-1)} channels, the model was built for in_channels="
                f"{self.in_channels}"
            )
        if static:
            graph = edge_index
        else:
            self.head.knn.train(self.training)
            graph = self.head.knn(x[..., : self.knn_channels])
        h = self.head(x, graph)
        if isinstance(self.backbone, ReversibleSequential):
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
        s = self.settings
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
            f"task={s['task']!r}, num_blocks={s['num_blocks']}, channels={s['channels']}, "
            f"backbone={s['backbone']!r}, conv={s['conv']!r}, k={s['k']})"
        )
