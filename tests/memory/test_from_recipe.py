import pytest
import torch

from revgnn.config.build import build_model
from revgnn.config.model import ModelConfig
from revgnn.config.recipe import load_recipe, recipe_names
from revgnn.memory.from_recipe import PLANNED_MODELS, plan_config
from revgnn.memory.kinds import num_parameters
from revgnn.memory.plan import predict

# The sizes the OGB datasets give the models: input features, outputs, edge features.
SIZES = {
    "ogbn-proteins": (8 + 8, 112, 8, True),
    "ogbn-arxiv": (128, 40, None, False),
    "ogbn-products": (100, 47, None, False),
}
OGB_PRESETS = [n for n in recipe_names() if n.split("/")[0] in SIZES]


@pytest.mark.parametrize("name", OGB_PRESETS)
def test_every_ogb_preset_is_planned_with_its_exact_parameter_count(name):
    model = load_recipe(name).model
    in_channels, out_channels, edge_dim, multilabel = SIZES[name.split("/")[0]]
    cfg = plan_config(
        model,
        num_nodes=1000,
        num_edges=8000,
        in_channels=in_channels,
        out_channels=out_channels,
        edge_dim=edge_dim,
        multilabel=multilabel,
    )
    assert (cfg.num_layers, cfg.hidden_channels) == (model.num_layers, model.hidden_channels)
    with torch.device("meta"):
        built = build_model(model, in_channels, out_channels, edge_dim, explicit=())
    assert num_parameters(cfg) == sum(p.numel() for p in built.parameters())
    estimate = predict(cfg)
    assert estimate.calibrated, estimate.constants
    assert estimate.terms["activations"] > 0


def test_genconv_options_reach_the_plan():
    model = load_recipe("ogbn-proteins/deeper-gcn").model
    cfg = plan_config(model, num_nodes=10, num_edges=20, in_channels=8, out_channels=2,
                      edge_dim=8, multilabel=True, amp="bf16")  # fmt: skip
    assert (cfg.kind, cfg.aggr, cfg.learn_t, cfg.mlp_layers) == ("deepergcn", "softmax", True, 2)
    assert cfg.amp == "bf16" and cfg.norm == "layer"


def test_a_model_without_constants_is_refused():
    model = ModelConfig(model="revgnn", conv="gin", hidden_channels=16, num_layers=2)
    assert ("revgnn", "gin") not in PLANNED_MODELS
    with pytest.raises(ValueError, match="no constants for --model revgnn --conv gin; it plans"):
        plan_config(model, num_nodes=10, num_edges=20, in_channels=4, out_channels=2,
                    edge_dim=None, multilabel=False)  # fmt: skip


def test_the_default_model_is_planned_with_its_snapshots_and_input_dropout():
    for layers, snapshots in ((16, 0), (32, 1), (64, 0), (1000, 0)):
        model = ModelConfig(num_layers=layers)
        cfg = plan_config(model, num_nodes=2708, num_edges=10556, in_channels=1433,
                          out_channels=7, edge_dim=None, multilabel=False,
                          feature_density=0.0127)  # fmt: skip
        assert cfg.kind == "revgnn-gcnii" and cfg.norm is None
        with torch.device("meta"):
            built = build_model(model, 1433, 7)
        assert num_parameters(cfg) == sum(p.numel() for p in built.parameters())
        estimate = predict(cfg)
        assert estimate.calibrated, estimate.constants
        assert estimate.terms["snapshots"] == snapshots * 2708 * 64 * 8
        # Bag-of-words features: the dropout's output over the non-zeros only.
        assert estimate.terms["input dropout"] == pytest.approx(4 * 0.0127 * 2708 * 1433)
