import pytest
import torch

from revgnn import build_model, load_recipe
from revgnn.config.recipe import recipe_names
from revgnn.models.deep_gcn_architectures import architecture


def count(model):
    return sum(p.numel() for p in model.parameters())


def recipe_model(dataset, arch):
    spec = architecture(arch)
    recipe = load_recipe(f"deepgcn/{dataset}").with_values(
        {"model.backbone": spec["backbone"], "model.num_layers": spec["num_blocks"]}
    )
    return recipe.model


@pytest.mark.parametrize(
    ("dataset", "arch", "in_channels", "classes", "params"),
    [
        ("modelnet40", "resgcn-28", 3, 40, 3_256_168),
        ("modelnet40", "resgcn-14", 3, 40, 2_221_288),
        ("modelnet40", "densegcn-14", 3, 40, 8_824_040),
        ("ppi", "resgcn-28", 50, 121, 14_762_105),
        ("ppi", "densegcn-14", 50, 121, 53_417_593),
    ],
)
def test_published_parameter_counts(dataset, arch, in_channels, classes, params):
    with torch.device("meta"):
        model = build_model(recipe_model(dataset, arch), in_channels, classes)
    assert count(model) == params


def test_architectures_by_name():
    assert architecture("rev-resgcn-151") == {"backbone": "rev", "num_blocks": 151}
    assert architecture("plaingcn-7") == {"backbone": "plain", "num_blocks": 7}
    # As the papers write them.
    assert architecture("ResGCN-28") == {"backbone": "res", "num_blocks": 28}
    assert architecture("Rev-ResGCN_112") == {"backbone": "rev", "num_blocks": 112}
    with pytest.raises(ValueError, match="only residual backbones have a reversible form"):
        architecture("rev-densegcn-28")
    with pytest.raises(ValueError, match=r"is not <res\|dense\|plain>gcn-<layers>"):
        architecture("resnet-50")


def test_every_recipe_builds_and_names_its_training():
    names = [n for n in recipe_names() if n.startswith("deepgcn/")]
    assert {"deepgcn/s3dis", "deepgcn/modelnet40", "deepgcn/ppi", "deepgcn/partnet"} <= set(names)
    for name in names:
        recipe = load_recipe(name)
        assert recipe.model.num_layers == 28 and recipe.optim.epochs >= 30, name
        with torch.device("meta"):
            build_model(recipe.model, 9, 13)
    modelnet = load_recipe("deepgcn/modelnet40").optim
    assert modelnet.optimizer == "sgd" and modelnet.label_smoothing == 0.2
    with pytest.raises(ValueError, match="is neither a file nor a shipped recipe"):
        load_recipe("deepgcn/cora")
