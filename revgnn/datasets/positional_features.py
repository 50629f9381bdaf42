r"""Positional node features: random projections smoothed by the graph's propagation.

A graph whose nodes carry no features of their own (BlogCatalog, Deezer: the loaders give one
structural column, :func:`~revgnn.datasets.structural_features.structural_features`) leaves a
GNN one number per node to tell the nodes apart. The columns built here say *where* a node
is: for a seeded Gaussian :math:`R \in \mathbb{R}^{N \times d}` and the GCN propagation
:math:`\hat A = D^{-1/2}(A + I)D^{-1/2}`,

.. math::
    X_{\mathrm{pos}} = \big[\,\hat A^{k_1} R \;\|\; \hat A^{k_2} R \;\|\; \dots\big],

each column centred and scaled to unit variance. A row of :math:`\hat A^k R` is a random
projection of the node's :math:`k`-step diffusion profile, so nodes that reach the same parts
of the graph get close rows (Johnson-Lindenstrauss); several :math:`k` keep both the near and
the wider neighbourhood. This is FastRP's embedding (Chen et al., "Fast and Accurate Network
Embeddings via Very Sparse Random Projection", CIKM 2019) with dense Gaussian projections,
kept per power instead of summed, and the random node features of Sato et al. ("Random
Features Strengthen Graph Neural Networks", SDM 2021) made smooth over the graph.

It costs ``max(hops)`` sparse products of an :math:`N \times d` matrix and
``4 N d len(hops)`` bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from revgnn.datasets.features import standardize
from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["HOPS", "PROJECTIONS", "random_walk_projections", "with_positional"]

#: The propagation powers kept (one block of columns each).
HOPS = (1, 2, 3, 4, 6, 8)
#: Columns per power.
PROJECTIONS = 64


def random_walk_projections(
    edge_index: Tensor,
    num_nodes: int,
    hops: Sequence[int] = HOPS,
    projections: int = PROJECTIONS,
    seed: int = 0,
) -> Tensor:
    r""":math:`[\hat A^{k} R]_{k \in \mathrm{hops}}`, every column standardised (see the
    module docstring).

    Args:
        edge_index (Tensor): The graph, ``[2, E]`` (messages flow from row 0 to row 1).
        num_nodes (int): :math:`N`.
        hops (Sequence[int]): The powers :math:`k \ge 1` kept, in the columns' order.
        projections (int): Columns per power, :math:`d`.
        seed (int): Seed of :math:`R` (the same seed gives the same columns).

    Shapes:
        - **output:** :math:`(N, d \cdot |\mathrm{hops}|)`
    """
    if not hops or min(hops) < 1:
        raise ValueError(f"hops={tuple(hops)} must be one or more powers of at least 1")
    if projections < 1:
        raise ValueError(f"projections={projections} must be at least 1")
    edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    size = (num_nodes, num_nodes)
    adj = torch.sparse_coo_tensor(edge_index.flip(0), weight, size, check_invariants=True)
    adj = adj.coalesce()
    generator = torch.Generator().manual_seed(seed)
    h = torch.randn(num_nodes, projections, generator=generator)
    wanted = sorted(set(hops))
    blocks = {}
    for k in range(1, wanted[-1] + 1):
        h = torch.sparse.mm(adj, h)
        if k in wanted:
            blocks[k] = standardize(h)
    return torch.cat([blocks[k] for k in hops], dim=1)


def with_positional(dataset: NodeDataset, seed: int = 0) -> NodeDataset:
    """``dataset`` with :func:`random_walk_projections` appended to its node features (after
    their own preprocessing), noted in its description."""
    positions = random_walk_projections(dataset.data.edge_index, dataset.num_nodes, seed=seed)
    powers = ", ".join(map(str, HOPS))
    note = f"{positions.size(1)} positional columns (random projections, propagated {powers} times)"
    return dataset.preprocessed(note, x=torch.cat([dataset.data.x.float(), positions], dim=1))
