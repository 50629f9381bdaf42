import pytest

from revgnn.config import DEEP, ModelConfig, PointModelConfig


def test_defaults_are_valid_and_name_the_library_defaults():
    cfg = ModelConfig()
    assert (cfg.model, cfg.conv, cfg.conv_options) == ("revgnn", "auto", {})
    assert cfg.resolved_conv == "gcnii" and ModelConfig(model="deeper-gcn").resolved_conv == "gen"
    assert cfg.branch_gate == "auto" and DEEP == 16
    assert PointModelConfig().conv == "edge"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "resnet"}, "model='resnet' is not one of deeper-gcn, deq-gnn, revgnn"),
        ({"model": "deepgcn"}, "model='deepgcn' is not one of deeper-gcn"),
        ({"conv": "cheb"}, "conv='cheb' is not one of"),
        ({"conv": "gcn", "conv_options": {"heads": 2}}, "heads is not an option of conv='gcn'"),
        ({"num_groups": 3}, "num_groups=3 must divide hidden_channels=64"),
        ({"solver": "newton"}, "solver='newton' is not one of anderson"),
        ({"dropout": 1.0}, r"dropout=1.0 must lie in \[0, 1\)"),
    ],
)
def test_bad_settings_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_groups_are_not_checked_for_models_without_them():
    ModelConfig(model="deeper-gcn", num_groups=3)
    ModelConfig(model="deq-gnn", deq_cell="res+", num_groups=3)


def test_unused_settings_say_what_does_not_use_them():
    unused = ModelConfig(model="deeper-gcn").unused()
    assert "num_groups" in unused and "branch_gate" not in unused and "block" not in unused
    assert "branch_gate" in ModelConfig(model="deq-gnn").unused()
    dense = ModelConfig(model="deeper-gcn", block="dense", branch_gate=0.0).unused()
    assert dense["branch_gate"] == "--block dense (only res+ and res blocks have a branch)"
    assert "branch_gate" not in ModelConfig(model="deeper-gcn", block="res").unused()
    assert "branch_gate" not in ModelConfig(model="deeper-gcn", block="dense").unused()  # auto
    assert "--model deeper-gcn (only --model deq-gnn, revgnn, wt-revgnn" in unused["num_groups"]
    assert "block" in ModelConfig().unused() and "deq_cell" in ModelConfig().unused()
    aggr = ModelConfig(conv="gen", conv_options={"aggr": "max"}).unused()
    assert "conv_options.t" in aggr and "conv_options.p" in aggr
    assert "conv_options.t" not in ModelConfig(conv="gen").unused()  # softmax reads t
    assert "num_groups" in ModelConfig(model="deq-gnn", deq_cell="res+").unused()


def test_point_models():
    with pytest.raises(ValueError, match="backbone='wide' must be one of plain, res, dense, rev"):
        PointModelConfig(backbone="wide")
    with pytest.raises(ValueError, match="conv='sage' is not one of edge, mr, point_gin"):
        PointModelConfig(conv="sage")
    assert "k" in PointModelConfig(model="pointnet").unused()
    assert "num_groups" in PointModelConfig().unused()
    assert "num_groups" not in PointModelConfig(backbone="rev").unused()


def test_names_in_any_spelling_are_kept_in_the_registered_spelling():
    cfg = ModelConfig(model="DeeperGCN", conv="GEN", conv_options={"aggr": "PowerMean"},
                      solver="Fixed-Point", backward_solver="ANDERSON")  # fmt: skip
    assert (cfg.model, cfg.conv, cfg.conv_options["aggr"]) == ("deeper-gcn", "gen", "powermean")
    assert (cfg.solver, cfg.backward_solver) == ("fixed_point", "anderson")
    assert "conv_options.t" in cfg.unused()  # compared in its registered spelling
    assert ModelConfig(model="WT_RevGNN").model == "wt-revgnn"
    assert ModelConfig(conv="SAGEConv").conv == "sage"  # PyG's class name
    with pytest.raises(ValueError, match=r"model='revgn' is not one of .*; did you mean 'revgnn'"):
        ModelConfig(model="revgn")
    with pytest.raises(ValueError, match=r"aggr='softmx' is not one of .*did you mean 'softmax'"):
        ModelConfig(conv="gen", conv_options={"aggr": "softmx"})
    point = PointModelConfig(model="DeepGCN", conv="Point-GIN", backbone="Rev")
    assert (point.model, point.conv, point.backbone) == ("deepgcn", "point_gin", "rev")
    fixed = ModelConfig(block="RES+", deq_cell="Res+", grad="Phantom")
    assert (fixed.block, fixed.deq_cell, fixed.grad) == ("res+", "res+", "phantom")
    with pytest.raises(ValueError, match=r"block='resnet' must be one of res\+, res, dense, plain"):
        ModelConfig(block="resnet")
