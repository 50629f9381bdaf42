import json

import pytest
import torch

from revgnn.cli import main
from revgnn.memory import plan
from revgnn.memory.calibration import calibration_configs, fit_calibration
from revgnn.memory.kinds import MODEL_KINDS, Config, build_model, num_parameters
from revgnn.memory.plan import max_depth, max_width, predict, static_bytes
from revgnn.utils.units import parse_bytes

# (depth, width, groups, edge_dim, aggr, learn_t, learn_p, mlp_layers, norm)
SHAPES = [
    (1, 12, 2, None, "mean", False, False, 1, "batch"),
    (3, 16, 2, 8, "max", False, False, 2, None),
    (2, 24, 3, None, "softmax", True, False, 2, "batch"),
    (4, 32, 4, 5, "power", False, True, 3, "layer"),
    (5, 48, 2, 48, "softmax_sg", False, False, 2, "layer"),
]


@pytest.mark.parametrize("kind", list(MODEL_KINDS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"L{s[0]}-D{s[1]}-C{s[2]}-{s[4]}")
def test_parameter_formula_equals_the_model(kind, shape):
    depth, width, groups, edge_dim, aggr, learn_t, learn_p, mlp_layers, norm = shape
    cfg = Config(
        kind=kind,
        num_layers=depth,
        hidden_channels=width,
        num_groups=groups,
        edge_dim=edge_dim,
        aggr=aggr,
        learn_t=learn_t,
        learn_p=learn_p,
        mlp_layers=mlp_layers,
        norm=norm,
        in_channels=7,
        out_channels=5,
        num_nodes=30,
        num_edges=90,
    )
    model = build_model(cfg)
    assert num_parameters(cfg) == sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    assert MODEL_KINDS[cfg.kind].buffer_bytes(cfg) == buffers


@pytest.mark.parametrize("kind", list(MODEL_KINDS))
def test_built_model_runs_on_the_configured_graph(kind):
    cfg = Config(kind=kind, num_layers=2, hidden_channels=8, num_nodes=12, num_edges=30)
    model = build_model(cfg)
    x = torch.randn(cfg.num_nodes, cfg.in_channels)
    edge_index = torch.randint(0, cfg.num_nodes, (2, cfg.num_edges))
    edge_attr = torch.randn(cfg.num_edges, cfg.edge_dim)
    assert model(x, edge_index, edge_attr).shape == (cfg.num_nodes, cfg.out_channels)


def test_config_rejects_bad_input():
    with pytest.raises(ValueError, match="kind='resnet' is not one of"):
        Config(kind="resnet", num_layers=3, hidden_channels=8)
    with pytest.raises(ValueError, match="num_groups=3 must divide hidden_channels=64"):
        Config(kind="revgnn", num_layers=3, hidden_channels=64, num_groups=3)
    with pytest.raises(ValueError, match="num_layers=0 must be at least 1"):
        Config(kind="deepergcn", num_layers=0, hidden_channels=8)
    with pytest.raises(ValueError, match="aggr='softmax_sum' is not available"):
        Config(kind="pyg-groupaddrev", num_layers=3, hidden_channels=8, aggr="softmax_sum")
    with pytest.raises(ValueError, match="amp='fp8'"):
        Config(kind="revgnn", num_layers=3, hidden_channels=8, amp="fp8")
    # Groups are not validated for kinds that do not use them.
    Config(kind="deepergcn", num_layers=3, hidden_channels=10, num_groups=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("16GB", 16 * 10**9), ("16GiB", 16 * 2**30), ("16G", 16 * 2**30), ("2.5 MB", 2_500_000)],
)
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


def test_parse_bytes_rejects_nonsense():
    with pytest.raises(ValueError, match="memory='16 bananas' is not a size"):
        parse_bytes("16 bananas")


def test_reversible_memory_grows_with_depth_only_through_parameters():
    # RevGNN: going from 7 to 1001 layers adds weights, gradients and Adam state (16 bytes a
    # parameter) and BatchNorm buffers, and no activations; a plain deep GNN adds both.
    a = Config(kind="revgnn", num_layers=7, hidden_channels=80)
    b = a.with_(num_layers=1001)
    extra = 16 * (num_parameters(b) - num_parameters(a))
    extra += MODEL_KINDS["revgnn"].buffer_bytes(b) - MODEL_KINDS["revgnn"].buffer_bytes(a)
    assert predict(b).total - predict(a).total == pytest.approx(extra)
    assert predict(a).terms["activations"] == predict(b).terms["activations"] > 0
    plain = Config(kind="deepergcn", num_layers=7, hidden_channels=80)
    act = {n: predict(plain.with_(num_layers=n)).terms["activations"] for n in (7, 28, 1001)}
    per_layer = (act[28] - act[7]) / 21
    assert per_layer > 0.01 * act[7]
    assert act[1001] - act[7] == pytest.approx(994 * per_layer)


def test_static_terms_are_exact():
    cfg = Config(kind="wt-revgnn", num_layers=3, hidden_channels=16, num_nodes=10, num_edges=40)
    p = num_parameters(cfg)
    terms = static_bytes(cfg)
    assert terms["weights"] == terms["gradients"] == 4 * p
    assert terms["adam"] == 8 * p
    # x (10 x 8 fp32), edge_index (2 x 40 int64), edge_attr (40 x 8), targets (10 x 112).
    assert terms["graph"] == 4 * 80 + 16 * 40 + 4 * 320 + 4 * 1120


def test_max_depth_is_the_boundary():
    base = Config(kind="revgnn", num_layers=1, hidden_channels=64)
    budget = parse_bytes("200MB")
    depth = max_depth(base, budget)
    assert depth > 1
    assert predict(base.with_(num_layers=depth)).total <= budget
    assert predict(base.with_(num_layers=depth + 1)).total > budget
    assert max_depth(base, 1000) == 0
    # Memory of a weight-tied model does not depend on depth: any depth fits, or none.
    tied = base.with_(kind="wt-revgnn")
    assert max_depth(tied, budget) is None
    assert max_depth(tied, 1000) == 0


def test_max_width_is_the_boundary():
    base = Config(kind="deepergcn", num_layers=28, hidden_channels=8)
    budget = parse_bytes("1GB")
    width = max_width(base, budget)
    assert width > 0 and width % 8 == 0
    assert predict(base.with_(hidden_channels=width)).total <= budget
    assert predict(base.with_(hidden_channels=width + 8)).total > budget
    grouped = Config(kind="revgnn", num_layers=28, hidden_channels=12, num_groups=3)
    assert max_width(grouped, budget) % 24 == 0


def test_fit_calibration_recovers_known_constants(monkeypatch):
    truth = {"N*D": 40.0, "E*D/C": 12.0, "E*D|edge": 8.0, "N*T": 4.0}
    monkeypatch.setattr(plan, "CALIBRATION", {"revgnn/max/fp32": truth})
    configs = calibration_configs("revgnn", "max", None, size=12)
    records = [
        {"config": c.as_dict(), "peak_bytes": predict(c).total + 1000.0 * (i % 3)}
        for i, c in enumerate(configs)
    ]
    fitted = fit_calibration(records)["revgnn/max/fp32"]
    for name, value in truth.items():
        assert fitted[name] == pytest.approx(value, rel=0.05)
    assert all(v >= 0 for v in fitted.values())


def test_uncalibrated_combination_says_so(monkeypatch):
    monkeypatch.setattr(plan, "CALIBRATION", {"revgnn/max/fp32": {"N*D": 10.0}})
    cfg = Config(kind="revgnn", num_layers=3, hidden_channels=16, aggr="softmax")
    est = predict(cfg)
    assert not est.calibrated
    assert est.constants == "revgnn/max/fp32"
    assert est.terms["activations"] == 10.0 * cfg.num_nodes * 16


def test_plan_command_prints_and_writes_json(tmp_path, capsys):
    out = tmp_path / "plan.json"
    argv = [
        "plan", "--memory", "2GB", "--nodes", "2000", "--edges", "40000",
        "--in-channels", "8", "--out-channels", "112", "--edge-dim", "8",
        "--kinds", "revgnn,wt-revgnn,deepergcn", "--widths", "32,64", "--json", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "RevGNN" in text and "DeeperGCN res+" in text and "widest at L=112" in text
    result = json.loads(out.read_text())
    rows = {r["kind"]: r for r in result["rows"]}
    assert rows["wt-revgnn"]["deepest"]["32"] is None  # any depth
    assert rows["revgnn"]["deepest"]["64"] > rows["deepergcn"]["deepest"]["64"] > 0


def test_plan_command_needs_the_graph(capsys):
    assert main(["plan", "--memory", "2GB", "--nodes", "100"]) == 2
    assert "give --edges, --in-channels, --out-channels" in capsys.readouterr().err
