import torch

from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search_cell import NUM_EDGES, STEPS, MixedOp, SearchCell, edge_endpoints
from tests.nas.graphs import ring


def test_edges_enumerate_every_earlier_state_of_every_node():
    ends = list(edge_endpoints())
    assert NUM_EDGES == 9 and STEPS == 3 and [e for e, _, _ in ends] == list(range(9))
    assert [(s, n) for _, s, n in ends] == [
        (0, 0),
        (1, 0),
        (0, 1),
        (1, 1),
        (2, 1),
        (0, 2),
        (1, 2),
        (2, 2),
        (3, 2),
    ]


def test_mixed_op_is_the_weighted_sum_and_a_decided_edge_runs_only_its_op():
    torch.manual_seed(0)
    x, edge_index = torch.randn(12, 4), ring(12)
    op = MixedOp(4).eval()
    w = torch.softmax(torch.randn(len(PRIMITIVES)), 0)
    expected = sum(w[i] * op.ops[i](x, edge_index) for i in range(len(PRIMITIVES)))
    assert torch.allclose(op(x, edge_index, w, -1), expected, atol=1e-6)
    gin = PRIMITIVES.index("point_gin")
    assert torch.equal(op(x, edge_index, w, gin), op.ops[gin](x, edge_index))


def test_cell_sums_its_edges_and_drops_pruned_ones():
    torch.manual_seed(0)
    x0, x1, edge_index = torch.randn(10, 6), torch.randn(10, 6), ring(10)
    cell = SearchCell(6, 6, 4).eval()
    skip = PRIMITIVES.index("skip_connect")
    # node 0 = s0 + s1; node 1 = s1 (edges 2 and 4 pruned); node 2 = node 1 only
    selected = torch.tensor([skip, skip, 0, skip, 0, 0, 0, 0, skip])
    out = cell(x0, x1, edge_index, torch.zeros(9, len(PRIMITIVES)), selected)
    s0, s1 = cell.pre0(x0), cell.pre1(x1)
    assert out.shape == (10, 12)
    assert torch.allclose(out, torch.cat([s0 + s1, s1, s1], dim=-1))
