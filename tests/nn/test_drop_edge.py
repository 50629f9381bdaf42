import pytest

from revgnn.nn import drop_edges
from tests.helpers import random_graph
from tests.nn.common import E, N


def test_drop_edges_needs_an_edge_index_tensor():
    with pytest.raises(TypeError, match="edge_dropout needs edge_index as a"):
        drop_edges([0, 1], {}, 0.5, training=True)
    edge_index = random_graph(N, E)
    assert drop_edges(edge_index, {}, 0.5, training=False)[0] is edge_index
