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


NODE_MODELS_AND_CONVS = [
    (model, conv)
    for model in ("revgnn", "wt-revgnn", "deq-gnn", "deeper-gcn")
    for conv in ("gcnii", "gen", "gat", "gcn", "sage")
    if not (conv == "gcnii" and model in ("deq-gnn", "deeper-gcn"))  # no initial embedding
]


@pytest.mark.parametrize(("model_name", "conv"), NODE_MODELS_AND_CONVS)
def test_every_node_model_predicts_in_inference_mode_and_trains_after(model_name, conv):
    # The caches kept per graph (sorted edges, the sparse feature copy, GCN's adjacency, GAT's
    # self-loops) keyed inference tensors by a version counter they lack (GENConv models
    # failed in torch.inference_mode()), or kept what inference mode built, which autograd
    # then refused in the next training step (GAT, SAGE).
    import torch

    from revgnn import ModelConfig, build_model
    from tests.helpers import random_graph

    torch.manual_seed(0)
    cfg = ModelConfig(model=model_name, conv=conv, num_layers=2, hidden_channels=8)
    model = build_model(cfg, 8, 3).eval()
    for x in ((torch.rand(30, 8) < 0.04).float(), torch.randn(30, 8)):  # bag-of-words, dense
        edge_index = random_graph(30, 120)
        with torch.inference_mode():
            predicted = model(x, edge_index)
        with torch.no_grad():
            assert torch.allclose(predicted, model(x, edge_index), atol=1e-6)
        model.train()
        model(x, edge_index).square().sum().backward()
        model.eval()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
        model.zero_grad()
