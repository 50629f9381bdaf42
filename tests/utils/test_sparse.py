import torch
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor

from revgnn.utils.sparse import edge_list


def test_a_transposed_adjacency_gives_back_its_edges_sources_first():
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 0]])  # source -> target
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    for to_sparse in (to_torch_csr_tensor, to_torch_coo_tensor):
        adj_t = to_sparse(edge_index.flip(0), weight, size=(3, 3))  # rows are targets
        index, values = edge_list(adj_t)
        got = sorted(zip(index[0].tolist(), index[1].tolist(), values.tolist()))
        want = sorted(zip(edge_index[0].tolist(), edge_index[1].tolist(), weight.tolist()))
        assert got == want
