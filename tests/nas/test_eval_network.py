import torch

from revgnn.datasets import load_dataset
from revgnn.nas.eval_network import EvalCell, EvalNetwork, train_genotype
from revgnn.nas.genotype import Genotype
from revgnn.training import TrainConfig
from revgnn.training.node_task import NodeTask
from tests.nas.graphs import ring

SKIPS = (
    (("skip_connect", 0), ("skip_connect", 1)),
    (("skip_connect", 2),),
    (("skip_connect", 1), ("skip_connect", 3)),
)


def test_a_cell_sums_each_nodes_operations_and_concatenates_the_nodes():
    torch.manual_seed(0)
    cell = EvalCell(Genotype(SKIPS), 6, 6, 4).eval()
    x0, x1 = torch.randn(10, 6), torch.randn(10, 6)
    s0, s1 = cell.pre0(x0), cell.pre1(x1)
    n2 = s0 + s1
    expected = torch.cat([n2, n2, s1 + n2], dim=-1)
    assert torch.allclose(cell(x0, x1, ring(10)), expected)


def test_networks_of_more_cells_predict_clouds_and_nodes():
    g = Genotype(((("edge_conv", 0), ("gat", 1)), (("semi_gcn", 2),), (("conv_1x1", 3),)))
    net = EvalNetwork(g, 3, 4, channels=4, num_cells=3, k=4, emb_dims=8)
    assert net(torch.randn(2, 16, 3)).shape == (2, 4) and len(net.cells) == 3
    nodes = EvalNetwork(g, 5, 3, channels=4, num_cells=2, task="nodes")
    assert nodes(torch.randn(10, 5), ring(10)).shape == (10, 3)


def test_train_genotype_trains_through_the_loop_on_a_real_graph():
    torch.manual_seed(0)
    cora = load_dataset("cora")
    g = Genotype(((("point_gin", 0), ("semi_gcn", 1)), (("skip_connect", 2),), (("semi_gcn", 3),)))
    result = train_genotype(
        g,
        NodeTask(cora),
        cora.data.x.size(1),
        cora.num_classes,
        TrainConfig(epochs=3, progress=False),
        {"channels": 8, "num_cells": 1, "task": "nodes"},
    )
    assert result.epochs == 3 and result.dataset == "cora" and 0 < result.test_metric <= 1
