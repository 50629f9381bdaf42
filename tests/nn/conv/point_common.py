"""A 6-point cloud, its k-NN graph, and the checks every DeepGCN conv shares."""

import torch

from revgnn.nn.knn import dilated_knn, neighbors_to_edge_index

K = 3


def cloud(channels=4, batch=2, seed=0):
    """Points (B, 6, C), neighbour indices (B, 6, K) and, for the sparse form, the same graph
    as an edge_index over the flattened points."""
    x = torch.randn(batch, 6, channels, generator=torch.Generator().manual_seed(seed))
    index = dilated_knn(x, K)
    return x, index, neighbors_to_edge_index(index)


def neighbours(index, b, i):
    return index[b, i].tolist()


def check_dense_equals_sparse(conv, channels=4):
    x, index, edge_index = cloud(channels)
    conv.train()
    dense = conv(x, index)
    sparse = conv(x.reshape(-1, channels), edge_index)
    torch.testing.assert_close(dense.reshape(sparse.shape), sparse, rtol=1e-5, atol=1e-5)
    grad_dense = torch.autograd.grad(dense.square().sum(), list(conv.parameters()))
    grad_sparse = torch.autograd.grad(sparse.square().sum(), list(conv.parameters()))
    for a, b in zip(grad_dense, grad_sparse):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
