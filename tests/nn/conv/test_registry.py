import pytest
import torch
from torch import nn

from revgnn.nn.conv import CONVS, conv_resolver, register_conv
from tests.helpers import random_graph, rev_gnn


def test_builtin_convs_and_their_options():
    assert {"gen", "gat", "sage", "gcn", "gin", "mlp"} <= set(CONVS)
    assert {"aggr", "t", "learn_t", "mlp_layers", "lean"} <= set(conv_resolver("gen").options)
    assert conv_resolver("gen").options["mlp_layers"] == 2  # GENConv's num_layers, renamed
    assert set(conv_resolver("gat").options) == {"heads", "attn_dropout"}
    assert not conv_resolver("sage").edge_features and conv_resolver("gin").edge_features
    gcn = conv_resolver("gcn")
    assert gcn.prepare is not None and gcn.prepared_options == {"normalize": False}


def test_unknown_options_and_edge_features_are_refused_by_name():
    with pytest.raises(ValueError, match=r"conv options \['heads'\] are not options of conv='gen'"):
        conv_resolver("gen")(4, 4, None, heads=2)
    # The remedy a command-line user can act on: another conv, conv='auto', other data.
    with pytest.raises(
        ValueError,
        match=r"conv='mlp' takes no edge features, and it was given edge_dim=3 .*: use a conv "
        r"that takes them \(gat, gen, gin\), conv='auto' .*, or data without edge_attr",
    ):
        conv_resolver("mlp")(4, 4, 3)
    with pytest.raises(
        ValueError, match="conv='cheb' is not one of edge, gat, gcn, gcnii, gen, gin, mlp, mr, sage"
    ):
        conv_resolver("cheb")
    with pytest.raises(TypeError, match="conv must be a name or a callable builder"):
        conv_resolver(3)


def test_defaults_apply_where_the_conv_takes_them():
    spec = conv_resolver("gin")
    conv = spec.make(4, 4, None, {}, {"norm": "layer", "aggr": "max"})  # gin has no aggr
    assert isinstance(conv.nn[1], nn.LayerNorm)
    assert spec.make(4, 4, None, {"norm": None}, {"norm": "layer"}).nn[1].__class__ is nn.ReLU


def test_a_registered_builder_is_a_conv_every_model_can_use():
    calls = []

    @register_conv("test_linear", edge_features=False)
    def linear(in_channels, out_channels, edge_dim, *, bias: bool = True):
        calls.append((in_channels, out_channels, bias))
        return LinearConv(in_channels, out_channels, bias)

    try:
        model = rev_gnn(6, 8, 3, 2, conv="test_linear", conv_options={"bias": False})
        assert calls == [(4, 4, False)] * 4  # 2 blocks x 2 groups of 4 channels
        x, edge_index = torch.randn(10, 6), random_graph(10, 30)
        assert model(x, edge_index).shape == (10, 3)
        with pytest.raises(ValueError, match="conv name 'test_linear' is already registered"):
            register_conv("test_linear")(linear)
    finally:
        del CONVS["test_linear"]


class LinearConv(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__()
        self.lin = nn.Linear(in_channels, out_channels, bias=bias)

    def forward(self, x, edge_index, **kwargs):
        return self.lin(x)
