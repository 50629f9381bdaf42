import pytest
import torch
from torch import nn

from revgnn.nn import norm_layer
from tests.nn.common import D, graph


def test_layer_norm_is_per_node():
    # DeeperGCN's LayerNorm normalises every node on its own; PyG's resolver default would
    # normalise over the whole graph, coupling the nodes.
    norm = norm_layer("layer", D)
    assert isinstance(norm, nn.LayerNorm)
    x, _ = graph()
    y = x.clone()
    y[1:] *= 10.0
    assert torch.allclose(norm(x)[0], norm(y)[0])
    # Every spelling of it means the same per-node norm, never PyG's graph-wise one.
    assert all(isinstance(norm_layer(n, D), nn.LayerNorm) for n in ("LayerNorm", "layer_norm"))
    assert norm_layer(None, D) is None
    assert type(norm_layer("batch", D)).__name__ == "BatchNorm"
    module = nn.LayerNorm(D)
    assert norm_layer(module, D) is module  # PyG's convention: a module is used as it is
    with pytest.raises(TypeError, match="norm must be a name, a module or None"):
        norm_layer(3, D)
