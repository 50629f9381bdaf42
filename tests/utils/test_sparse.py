import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch_geometric.utils import to_torch_coo_tensor, to_torch_csr_tensor, to_undirected

from revgnn.utils.sparse import edge_list, quiet_csr, symmetric_keys, undirected_edges


def test_a_transposed_adjacency_gives_back_its_edges_sources_first():
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 0]])  # source -> target
    weight = torch.tensor([1.0, 2.0, 3.0, 4.0])
    for to_sparse in (to_torch_csr_tensor, to_torch_coo_tensor):
        adj_t = to_sparse(edge_index.flip(0), weight, size=(3, 3))  # rows are targets
        index, values = edge_list(adj_t)
        got = sorted(zip(index[0].tolist(), index[1].tolist(), values.tolist()))
        want = sorted(zip(edge_index[0].tolist(), edge_index[1].tolist(), weight.tolist()))
        assert got == want


def test_undirected_edges_equal_pygs_to_undirected():
    g = torch.Generator().manual_seed(0)
    for n, e in [(1, 1), (30, 200), (500, 4000)]:
        ei = torch.randint(0, n, (2, e), generator=g)
        ei[:, : min(3, e)] = ei[0, : min(3, e)]  # self-loops, kept as PyG keeps them
        ei = torch.cat([ei, ei[:, :7]], 1)  # repeated edges
        want = to_undirected(ei, num_nodes=n)
        assert torch.equal(undirected_edges(ei, n), want)
        # int32 and a transposed (non-contiguous) view, as loaders hand them over.
        assert torch.equal(undirected_edges(ei.int().t().contiguous().t(), n), want)


def test_symmetric_keys_without_self_loops():
    ei = torch.tensor([[0, 1, 2, 2, 1], [1, 0, 2, 0, 0]])
    keys = symmetric_keys(ei, 3, self_loops=False)
    assert keys.dtype == np.int64
    assert [divmod(int(k), 3) for k in keys] == [(0, 1), (0, 2), (1, 0), (2, 0)]
    with pytest.raises(ValueError, match="num_nodes=4000000000 is too large for int64 keys"):
        symmetric_keys(ei, 4_000_000_000)


# Torch gives its CSR notices once per process, at the first CSR tensor built: each check runs
# in a fresh process, and the library's places that build one from a non-CSR input (the others
# take a CSR tensor, so the notices are spent by then) are checked one by one.
_EDGES = "ei = torch.tensor([[0, 1, 2, 0], [1, 2, 0, 2]])\n"
_BUILD_CSR = {
    "torch": "torch.eye(2).to_sparse_csr()",
    "gcn_prepare": "from revgnn.nn.conv.pyg_convs import gcn_prepare\n"
    + _EDGES
    + "gcn_prepare(ei, 3, torch.float32)",
    "summer": "from revgnn.nn.aggr.segments import segments\n"
    + _EDGES
    + "segments(ei[1], 3, ei[0]).summer(torch.float32)",
    "sparse_rows": "from revgnn.nn.sparse_input import sparse_rows\n"
    "assert sparse_rows(torch.eye(100)) is not None",
}


@pytest.mark.parametrize("who", list(_BUILD_CSR))
def test_revgnn_builds_sparse_csr_without_torchs_beta_notice(who):
    code = f"import torch\n{_BUILD_CSR[who]}\n"
    proc = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code], capture_output=True, text=True
    )
    if who == "torch":  # the notice the library silences is there to silence
        assert proc.returncode != 0
        assert "Sparse CSR tensor support is in beta" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr


def test_quiet_csr_lets_other_warnings_through():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_csr():
            warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else"]
