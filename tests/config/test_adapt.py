from revgnn.config import DEEP, ModelConfig, Recipe, adapt
from revgnn.config.adapt import adapt_model, adapt_to_model, weight_decay_targets


def test_the_depth_rule():
    assert adapt_model(ModelConfig(num_layers=DEEP)).branch_gate == 0.0
    assert adapt_model(ModelConfig(num_layers=DEEP - 1)).branch_gate is None
    assert adapt_model(ModelConfig(branch_gate=0.5)).branch_gate == 0.5  # set: kept
    deeper = adapt_model(ModelConfig(model="deeper-gcn", num_layers=64))
    assert deeper.branch_gate == "auto"  # a model without gates keeps the unused setting
    assert weight_decay_targets(DEEP - 1, True) == "encoder.node"
    assert weight_decay_targets(DEEP, True) == weight_decay_targets(4, False) == ""


def test_adapt_fills_every_auto_value():
    recipe = adapt(Recipe())
    assert recipe.run.device in ("cpu", "cuda") and recipe.model.branch_gate is None
    resolved = adapt_to_model(recipe, "encoder.node")
    assert resolved.optim.weight_decay_on == "encoder.node"
    assert adapt_to_model(resolved, "").optim.weight_decay_on == "encoder.node"  # set: kept
