import pytest

from revgnn.models.deep_gcn import DeepGCN
from revgnn.models.deep_gcn_presets import RECIPES, architecture, deep_gcn_preset


def count(model):
    return sum(p.numel() for p in model.parameters())


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
    kwargs, _ = deep_gcn_preset(dataset, arch)
    assert count(DeepGCN(in_channels, classes, **kwargs)) == params


def test_architectures_by_name():
    assert architecture("rev-resgcn-151") == {"backbone": "rev", "num_blocks": 151}
    assert architecture("plaingcn-7") == {"backbone": "plain", "num_blocks": 7}
    with pytest.raises(ValueError, match="only residual backbones have a reversible form"):
        architecture("rev-densegcn-28")
    with pytest.raises(ValueError, match=r"is not <res\|dense\|plain>gcn-<layers>"):
        architecture("resnet-50")


def test_every_recipe_builds_and_names_its_training():
    for dataset in RECIPES:
        kwargs, rest = deep_gcn_preset(dataset)
        assert kwargs["num_blocks"] == 28 and rest["train"]["epochs"] >= 30, dataset
    _, modelnet = deep_gcn_preset("modelnet40")
    assert modelnet["train"]["optimizer"] == "sgd" and modelnet["train"]["label_smoothing"] == 0.2
    with pytest.raises(ValueError, match="has no DeepGCN recipe"):
        deep_gcn_preset("cora")
