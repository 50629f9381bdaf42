import pytest
import torch

from revgnn.nas.genotype import Genotype
from revgnn.nas.latency import LatencyTable, latency_loss, measure_cells, time_call
from revgnn.nas.operations import PRIMITIVES
from tests.nas.graphs import ring

TABLE = LatencyTable({name: float(i + 1) for i, name in enumerate(PRIMITIVES)}, 0.5, 3, "cpu")


def test_expected_latency_of_one_hot_weights_is_the_tables_sum():
    ops = [1, 3, 0, 5, 0, 0, 9, 0, 2]  # 0: pruned
    w = torch.zeros(9, len(PRIMITIVES))
    for e, o in enumerate(ops):
        if o:
            w[e, o] = 1.0
    table_sum = sum(TABLE.ops[PRIMITIVES[o]] for o in ops if o)
    assert float(TABLE.expected(w)) == pytest.approx(3 * (0.5 + table_sum))


def test_expected_latency_is_differentiable_in_the_architecture_weights():
    alpha = torch.zeros(9, len(PRIMITIVES), requires_grad=True)
    TABLE.expected(torch.softmax(alpha, -1)).backward()
    grad = alpha.grad[0]
    assert grad[-1] > 0 > grad[0], "the slowest operation is pushed down, the fastest up"


def test_the_hinge_is_zero_under_the_target_and_relative_over_it():
    assert float(latency_loss(torch.tensor(4.0), 5.0)) == 0.0
    assert float(latency_loss(torch.tensor(6.0), 5.0, weight=2.0)) == pytest.approx(0.4)
    with pytest.raises(ValueError, match=r"latency target=0.0 ms must be > 0"):
        latency_loss(torch.tensor(1.0), 0.0)


def test_measured_tables_and_cells_are_positive_and_rank_the_identity_first():
    table = LatencyTable.measure(64, 8, ring(64), 2, repeats=3)
    assert set(table.ops) == set(PRIMITIVES) and table.pre > 0
    assert table.ops["skip_connect"] < table.ops["edge_conv"]
    g = Genotype(((("point_gin", 0), ("point_sage", 1)), (("skip_connect", 2),), (("gat", 3),)))
    assert measure_cells(g, 64, 8, ring(64), 2, repeats=3) > 0
    assert table.to_dict()["num_cells"] == 2
    with pytest.raises(ValueError, match="repeats=0 must be >= 1"):
        time_call(lambda: None, torch.device("cpu"), 0)
