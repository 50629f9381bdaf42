import pytest

from revgnn.nn.conv.point_conv import POINT_CONVS, point_conv_resolver, register_point_conv


def test_every_deepgcn_conv_is_registered():
    assert set(POINT_CONVS) >= {"edge", "mr", "sage", "gin"}
    assert point_conv_resolver("mr").__name__ == "MRConv"


def test_unknown_and_duplicate_names():
    with pytest.raises(ValueError, match="conv='gcn' is not one of edge, gin, mr, sage"):
        point_conv_resolver("gcn")
    with pytest.raises(ValueError, match="already registered"):
        register_point_conv("edge")(POINT_CONVS["edge"])
