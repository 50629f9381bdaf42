import json

import pytest
import torch

from revgnn import build_model
from revgnn.config import ModelConfig, PointModelConfig, Recipe, load_recipe, recipe_names


def test_a_recipe_round_trips_through_yaml_and_a_json_record(tmp_path):
    recipe = Recipe().with_values(
        {
            "model.num_layers": 6,
            "model.conv": "gen",
            "model.conv_options.aggr": "max",
            "optim.lr": 0.05,
        }
    )
    path = tmp_path / "r.yaml"
    path.write_text(recipe.to_yaml())
    again = load_recipe(str(path))
    assert again.model == recipe.model and again.optim == recipe.optim
    # A file's keys that differ from the defaults are the user's wishes.
    assert {"model.num_layers", "model.conv_options.aggr", "optim.lr"} <= again.explicit
    assert "optim.epochs" not in again.explicit
    record = tmp_path / "run.json"
    record.write_text(json.dumps({"test_metric": 0.8, "recipe": recipe.to_dict()}))
    assert load_recipe(str(record)).model == recipe.model


def test_only_changed_fields_are_written_when_asked():
    small = Recipe().with_values({"model.num_layers": 6}).to_dict(full=False)
    assert small == {"model": {"num_layers": 6}}


def test_changing_the_conv_drops_the_previous_convs_options():
    recipe = Recipe().with_values({"model.conv": "gen", "model.conv_options.aggr": "max"})
    assert recipe.with_values({"model.conv": "gcn"}).model.conv_options == {}
    kept = recipe.with_values({"model.conv": "gen"})
    assert kept.model.conv_options == {"aggr": "max"}


def test_a_model_of_another_family_starts_from_its_defaults():
    recipe = Recipe().with_values({"model.model": "deepgcn"})
    assert isinstance(recipe.model, PointModelConfig) and recipe.model.conv == "edge"


def test_unknown_keys_bad_files_and_names_are_errors(tmp_path):
    with pytest.raises(ValueError, match=r"model.qqq: not a field of ModelConfig \(its"):
        Recipe().with_values({"model.qqq": 3})
    with pytest.raises(
        ValueError, match=r"model.num_layer: not a field of ModelConfig; did you mean 'num_layers'"
    ):
        Recipe().with_values({"model.num_layer": 3})
    with pytest.raises(ValueError, match="'trainer' is not a recipe section"):
        Recipe.from_dict({"trainer": {"lr": 1}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ValueError, match=r"bad.yaml is not valid YAML"):
        load_recipe(str(bad))
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_recipe(str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match="is neither a file nor a shipped recipe"):
        load_recipe("ogbn-proteins/revgnn-huge")
    with pytest.raises(ValueError, match=r"; did you mean 'ogbn-arxiv/deeper-gcn'\?$"):
        load_recipe("ogbn-arxiv/deepergc")
    # A shipped recipe's name in any case, with '-' / '_' as you like.
    shipped = load_recipe("OGBN_Arxiv/DeeperGCN")
    assert shipped.source == "ogbn-arxiv/deeper-gcn" and shipped == load_recipe(shipped.source)


def test_check_used_refuses_what_the_user_set_and_nothing_else():
    recipe = Recipe().with_values({"optim.momentum": 0.5})
    with pytest.raises(ValueError, match=r"--momentum is not used by --optimizer adam"):
        recipe.check_used({"optim.momentum": "--momentum"})
    Recipe().check_used()  # the defaults' unused settings are nobody's wish
    load_recipe("ogbn-proteins/revgnn-deep").check_used()  # nor a shipped recipe's


@pytest.mark.parametrize("name", recipe_names())
def test_every_shipped_recipe_loads_and_its_model_builds(name):
    recipe = load_recipe(name)
    assert recipe.explicit == frozenset() and recipe.source == name
    node = isinstance(recipe.model, ModelConfig)
    edges = node and recipe.model.conv_spec.edge_features
    sizes = (8, 5, 4 if edges else None) if node else (9, 13, None)
    if recipe.search is None:
        with torch.device("meta"):
            build_model(recipe.model, *sizes)
