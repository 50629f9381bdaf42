import pytest
from torch import nn

from revgnn.utils.registry import OPERATORS, Registry


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
