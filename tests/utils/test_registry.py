import pytest
from torch import nn

from revgnn.utils.registry import (
    OPERATORS,
    Registry,
    did_you_mean,
    normalize,
    resolve_name,
    spelled,
)


def test_build_passes_the_options_a_builder_takes():
    reg = Registry("widget", arg="widget")

    @reg.register("lin", note="a line")
    def lin(width: int, *, bias: bool = True) -> nn.Linear:
        return nn.Linear(width, width, bias=bias)

    assert reg.entry("lin").info == {"note": "a line"} and "lin" in reg and len(reg) == 1
    assert reg.build("lin", 3, bias=False).bias is None
    # Options a builder does not take are dropped unless a user set them.
    assert reg.build("lin", 3, strict=(), extra=1).in_features == 3
    with pytest.raises(ValueError, match=r"extra is not an option of widget 'lin' \(its options: "):
        reg.build("lin", 3, strict={"extra"}, extra=1)
    with pytest.raises(ValueError, match="widget='line' is not one of lin"):
        reg.entry("line")
    with pytest.raises(ValueError, match="widget name 'lin' is already registered to"):
        reg.add("lin", lin)
    del reg["lin"]
    assert "lin" not in reg


def test_an_operator_name_means_one_operator_class():
    a, b = Registry("a-ops", operators=True), Registry("b-ops", operators=True)
    try:
        a.add("test_op", nn.Linear)
        b.add("test_op", nn.Linear)  # the same operator in another registry: allowed
        with pytest.raises(ValueError, match="name 'test_op' is already the a-ops Linear"):
            Registry("c-ops", operators=True).add("test_op", nn.ReLU)
    finally:
        OPERATORS.pop("test_op", None)


def test_lookups_ignore_case_dashes_and_underscores_and_return_the_registered_spelling():
    reg = Registry("widget", arg="widget")
    reg.add("soft_max", nn.Softmax)
    reg.add("deeper-net", nn.ReLU)
    for spelling in ("soft_max", "SoftMax", "soft-max", "SOFT MAX"):
        assert spelling in reg and reg.canonical(spelling) == "soft_max"
        assert reg[spelling] is nn.Softmax and reg.entry(spelling).name == "soft_max"
    assert reg.get("DeeperNet") is nn.ReLU and reg.get("deeper") is None
    with pytest.raises(ValueError, match=r"widget='deepernett' is not one of deeper-net, "
                       r"soft_max; did you mean 'deeper-net'\?$"):  # fmt: skip
        reg.entry("deepernett")
    with pytest.raises(ValueError, match=r"widget='xyz' is not one of deeper-net, soft_max$"):
        reg.entry("xyz")  # nothing close: no suggestion
    # Names that lookups could not tell apart are refused when registered.
    with pytest.raises(ValueError, match="'Soft-Max' differs from the registered 'soft_max' only"):
        reg.add("Soft-Max", nn.Tanh)
    del reg["SOFTMAX"]
    assert "soft_max" not in reg
    reg.add("Soft-Max", nn.Tanh)  # its twin is gone
    assert reg["softmax"] is nn.Tanh


def test_resolve_name_and_did_you_mean():
    assert resolve_name("Fixed-Point", ["anderson", "fixed_point"], "solver") == "fixed_point"
    with pytest.raises(ValueError, match=r"^solver='andersen' is not one of anderson, "
                       r"fixed_point; did you mean 'anderson'\?$"):  # fmt: skip
        resolve_name("andersen", ["anderson", "fixed_point"], "solver")  # in the given order
    assert did_you_mean("citeseeer", ["cora", "citeseer"]) == "; did you mean 'citeseer'?"
    assert did_you_mean("zzz", ["cora", "citeseer"]) == ""
    assert normalize("OGBN_Arxiv") == normalize("ogbn-arxiv") == "ogbnarxiv"
    # PyG's class names, as its resolvers take them.
    assert resolve_name("GATConv", ["gat", "sage"], "conv") == "gat"
    assert resolve_name("SoftmaxAggregation", ["softmax", "max"], "aggr") == "softmax"
    with pytest.raises(ValueError, match="conv='GCN2Conv' is not one of gat, sage"):
        resolve_name("GCN2Conv", ["gat", "sage"], "conv")
    to_preset = spelled(["revgnn-deep", "deeper-gcn"])  # an argparse type= before its choices
    assert to_preset("RevGNN_Deep") == "revgnn-deep" and to_preset("gcn") == "gcn"
