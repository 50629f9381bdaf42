import pytest
import torch

from revgnn import ModelConfig, PointModelConfig, build_model
from revgnn.models import DEQGNN, DeeperGCN, DeepGCN, PointNet, RevGNN


@pytest.mark.parametrize(
    ("name", "cls"),
    [("revgnn", RevGNN), ("wt-revgnn", RevGNN), ("deq-gnn", DEQGNN), ("deeper-gcn", DeeperGCN)],
)
def test_every_node_model_builds_from_its_config(name, cls):
    model = build_model(ModelConfig(model=name, num_layers=3, hidden_channels=8), 5, 2)
    assert isinstance(model, cls)
    out = model(torch.randn(6, 5), torch.tensor([[0, 1, 2], [1, 2, 3]]))
    assert out.shape == (6, 2)


def test_point_models_build_from_theirs():
    assert isinstance(build_model(PointModelConfig(num_layers=3), 3, 4), DeepGCN)
    assert isinstance(build_model(PointModelConfig(model="pointnet"), 3, 4), PointNet)


def test_a_setting_the_model_does_not_use_is_refused():
    cfg = ModelConfig(model="deeper-gcn", num_groups=4)
    with pytest.raises(ValueError, match="num_groups=4 is not used by --model deeper-gcn"):
        build_model(cfg, 5, 2)
    # A user's explicit setting at its default value is refused too.
    with pytest.raises(ValueError, match="num_groups=2 is not used by --model deeper-gcn"):
        build_model(ModelConfig(model="deeper-gcn"), 5, 2, explicit={"num_groups"})
    # With explicit given, a recipe's values for another model are not the user's wish.
    build_model(cfg, 5, 2, explicit=())
