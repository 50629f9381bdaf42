import pytest

from revgnn.nn.conv.point_conv import POINT_CONVS, point_conv_resolver, register_point_conv


def test_every_deepgcn_conv_is_registered():
    assert set(POINT_CONVS) >= {"edge", "mr", "point_sage", "point_gin"}
    assert point_conv_resolver("mr").__name__ == "MRConv"


def test_unknown_and_duplicate_names():
    with pytest.raises(
        ValueError, match="conv='gcn' is not one of edge, mr, point_gin, point_sage"
    ):
        point_conv_resolver("gcn")
    with pytest.raises(ValueError, match="already registered"):
        register_point_conv("edge")(POINT_CONVS["edge"])


def test_an_operator_name_means_one_operator_in_every_registry():
    from revgnn.nn.conv import CONVS
    from revgnn.utils.registry import OPERATORS

    # "sage" / "gin" are PyG's convs; the DeepGCN max-pool SAGE and GIN have their own names.
    assert OPERATORS["sage"][1].__name__ == "SAGEConv"
    assert OPERATORS["point_sage"][1].__name__ == "PointSAGEConv"
    with pytest.raises(ValueError, match="name 'sage' is already the conv SAGEConv"):
        register_point_conv("sage")(POINT_CONVS["point_sage"])
    assert "sage" not in POINT_CONVS and "sage" in CONVS
