import inspect

import pytest

from revgnn.models import MODELS, register_model


def test_builders_take_config_fields_without_defaults_of_their_own():
    # The config's defaults are the library's: a builder default would be a second one.
    from revgnn.config import ModelConfig, PointModelConfig

    configs = {"node": ModelConfig, "point": PointModelConfig}
    for name in MODELS:
        entry = MODELS.entry(name)
        fields = set(configs[entry.info["family"]].__dataclass_fields__)
        for option, param in entry.options(3).items():
            if option == "weight_tied":  # the wt-revgnn entry fixes it
                continue
            assert option in fields, (name, option)
            assert param.default is inspect.Parameter.empty or name == "wt-revgnn", (name, option)


def test_registering_needs_a_family_and_a_new_name():
    with pytest.raises(ValueError, match="family='graph' must be one of node, point"):
        register_model("x", family="graph")
    with pytest.raises(ValueError, match="model name 'revgnn' is already registered"):
        register_model("revgnn", family="node")(lambda *a: None)
