"""The OGB examples: every preset (a shipped recipe) builds with the papers' parameter counts,
and one epoch of every example runs through its script on tiny OGB-layout folders written
here."""

from __future__ import annotations

import importlib
import json
import math
import os.path as osp
import sys

import pytest
import torch
from torch_geometric.nn import GATConv

from revgnn import build_model, load_recipe
from revgnn.datasets import write_ogb_layout
from revgnn.models import DeeperGCN, GraphPredictor
from revgnn.training.experiment import ATOM_FEATURES, BOND_FEATURES
from tests.ogb_layouts import write_ogbg_layout

EXAMPLES = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), "ogb_examples")
sys.path.insert(0, EXAMPLES)
example_cli = importlib.import_module("example_cli")
SCRIPTS = {
    kind: importlib.import_module(f"ogbn_{kind}") for kind in ("proteins", "arxiv", "products")
}
molhiv = importlib.import_module("ogbg_molhiv")
#: (in_channels, out_channels, edge_dim) of each dataset, proteins with its species one-hot.
SIZES = {"proteins": (8 + 8, 112, 8), "arxiv": (128, 40, None), "products": (100, 47, None)}
DEFAULTS = {"proteins": "revgnn-deep", "arxiv": "revgat", "products": "revgnn-112"}


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(kind: str, preset: str, **changes) -> torch.nn.Module:
    recipe = load_recipe(f"ogbn-{kind}/{preset}")
    values = {f"model.{k}": v for k, v in changes.items()}
    cfg = recipe.with_values(values).model if values else recipe.model
    with torch.device("meta"):  # no storage: builds large presets fast
        return build_model(cfg, *SIZES[kind])


def _count_at_depth(kind: str, preset: str, depth: int) -> int:
    """Parameters at ``depth`` from builds at 1, 2 and 3 layers (checked to be affine)."""
    c1, c2, c3 = (_count(_build(kind, preset, num_layers=n)) for n in (1, 2, 3))
    assert c3 - c2 == c2 - c1, "parameter count is not affine in the depth"
    return c1 + (depth - 1) * (c2 - c1)


def test_every_example_offers_its_datasets_shipped_recipes():
    assert example_cli.presets("ogbn-proteins") == [
        "deeper-gcn", "deq-gnn", "revgnn-deep", "revgnn-wide", "wt-revgnn",
    ]  # fmt: skip
    assert example_cli.presets("ogbg-molhiv") == ["deeper-gcn", "revgnn"]


@pytest.mark.parametrize(
    ("preset", "millions"),
    [("revgnn-deep", 20.03), ("revgnn-wide", 68.47), ("deeper-gcn", 2.37)],
)
def test_proteins_presets_match_the_papers_parameter_counts(preset, millions):
    depth = load_recipe(f"ogbn-proteins/{preset}").model.num_layers
    assert round(_count_at_depth("proteins", preset, depth) / 1e6, 2) == millions


@pytest.mark.parametrize(
    ("kind", "preset", "count"),
    [("arxiv", "deeper-gcn", 491_176), ("products", "revgnn-112", 2_945_007)],
)
def test_arxiv_and_products_presets_parameter_counts(kind, preset, count):
    # The counts listed for these models on the OGB leaderboard.
    depth = load_recipe(f"ogbn-{kind}/{preset}").model.num_layers
    assert _count_at_depth(kind, preset, depth) == count


def test_full_depth_build_equals_the_extrapolated_count():
    # The extrapolation is exact: a 112-layer DeeperGCN built in full has the predicted count.
    model = _build("proteins", "deeper-gcn")
    assert model.num_layers == 112
    assert _count(model) == _count_at_depth("proteins", "deeper-gcn", 112) == 2_374_496


@pytest.mark.parametrize(
    ("kind", "preset"),
    [(k, p) for k in SCRIPTS for p in example_cli.presets(f"ogbn-{k}")],
)
def test_every_preset_builds_with_its_settings(kind, preset):
    hidden = load_recipe(f"ogbn-{kind}/{preset}").model.hidden_channels
    model = _build(kind, preset, num_layers=2)
    assert model.num_layers == 2
    assert model.encoder.out_channels == hidden
    assert model.head.out_channels == SIZES[kind][1]
    assert model.encoder.in_channels == SIZES[kind][0]
    assert (model.encoder.edge is not None) == (kind == "proteins")


def test_constructor_extras_reach_the_model():
    revgat = _build("arxiv", "revgat", num_layers=2)
    gats = [m for m in revgat.modules() if isinstance(m, GATConv)]
    assert len(gats) == 4  # 2 blocks x 2 groups
    assert all(g.heads == 3 and g.out_channels == 128 for g in gats)  # 3 heads x 128 per group
    deeper = _build("arxiv", "deeper-gcn", num_layers=2)
    assert isinstance(deeper, DeeperGCN)
    assert deeper.layers[0].aggr_module.t == pytest.approx(0.1)
    overridden = _build("arxiv", "deeper-gcn", num_layers=2, conv_options={"t": 0.5})
    assert overridden.layers[0].aggr_module.t == pytest.approx(0.5)


def test_wrong_dataset_is_refused(capsys):
    with pytest.raises(SystemExit):
        example_cli.parse(["--dataset", "cora"], "ogbn-arxiv", "", "revgat")
    assert "this example trains ogbn-arxiv" in capsys.readouterr().err
    # The example's own dataset and its presets in any spelling.
    args = example_cli.parse(["--dataset", "OGBN_Arxiv", "--preset", "DeeperGCN"], "ogbn-arxiv",
                             "", "revgat")  # fmt: skip
    assert args.config == "ogbn-arxiv/deeper-gcn"
    with pytest.raises(SystemExit):
        example_cli.parse(["--preset", "gcn"], "ogbn-arxiv", "", "revgat")
    assert "invalid choice: 'gcn' (choose from 'deeper-gcn', 'revgat')" in capsys.readouterr().err


@pytest.fixture(scope="module")
def ogb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ogb")
    for kind in SCRIPTS:
        write_ogb_layout(kind, str(root), num_nodes=80, avg_degree=6.0, seed=1)
    return str(root)


# Small overrides keep one epoch fast; hidden widths respect groups (and RevGAT's 3 heads).
_SMALL = {"revgat": ["--hidden", "12"], "revgnn-wide": ["--hidden", "8"]}


# One epoch of every example script and of every model class (OGB's ROC-AUC over proteins' 112
# tasks is slow on CPU, so not of every preset); the build tests above cover the other presets.
@pytest.mark.parametrize(
    ("kind", "preset"),
    [
        ("proteins", "revgnn-deep"),
        ("proteins", "deq-gnn"),
        ("arxiv", "revgat"),
        ("arxiv", "deeper-gcn"),
        ("products", "revgnn-112-cluster"),
    ],
)
def test_one_epoch_of_every_node_example(kind, preset, ogb_root, tmp_path):
    out = tmp_path / "result.json"
    argv = ["--root", ogb_root, "--preset", preset, "--layers", "2", "--epochs", "1"]
    argv += [*_SMALL.get(preset, ["--hidden", "8"]), "--no-progress", "--json", str(out)]
    assert SCRIPTS[kind].main(argv, f"ogbn-{kind}", "", DEFAULTS[kind]) == 0
    result = json.loads(out.read_text())
    shipped = load_recipe(f"ogbn-{kind}/{preset}")
    assert result["epochs"] == 1
    assert math.isfinite(result["test_metric"]) and 0.0 <= result["test_metric"] <= 1.0
    # The preset's values reach the run; the command line overrides them.
    ran = result["recipe"]
    assert ran["model"]["num_layers"] == 2
    assert ran["model"]["model"] == shipped.model.model
    assert ran["model"]["conv_options"] == shipped.model.conv_options
    assert ran["model"]["norm"] == shipped.model.norm and ran["optim"]["lr"] == shipped.optim.lr
    for key in ("partition", "num_parts", "eval_parts"):
        assert ran["data"][key] == getattr(shipped.data, key), key


@pytest.mark.parametrize("preset", example_cli.presets("ogbg-molhiv"))
def test_one_epoch_of_molhiv_through_ogb(preset, tmp_path):
    write_ogbg_layout(str(tmp_path))
    out = tmp_path / "summary.json"
    argv = ["--root", str(tmp_path), "--preset", preset, "--epochs", "1", "--hidden", "16"]
    argv += ["--layers", "2", "--batch-size", "8", "--runs", "2", "--no-progress"]
    assert molhiv.main([*argv, "--json", str(out)], "ogbg-molhiv", "", "deeper-gcn") == 0
    summary = json.loads(out.read_text())
    assert summary["metric"] == "rocauc" and summary["runs"] == 2
    assert len(summary["per_run"]) == 2 and summary["per_run"][1]["seed"] == 1
    assert 0.0 <= summary["test_mean"] <= 1.0
    model = summary["recipe"]["model"]
    assert model["conv_options"]["aggr"] == "softmax" and model["num_layers"] == 2


def test_molhiv_preset_is_deeper_gcn_7x256():
    cfg = load_recipe("ogbg-molhiv/deeper-gcn").model
    model = GraphPredictor(build_model(cfg, ATOM_FEATURES, 1, BOND_FEATURES), cfg.hidden_channels)
    assert isinstance(model.model, DeeperGCN)
    assert model.model.num_layers == 7 and model.model.encoder.out_channels == 256
    assert _count(model) == 512_264
    x = torch.zeros(5, 9, dtype=torch.long)
    edge_index = torch.tensor([[0, 1, 3], [1, 2, 4]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    model.eval()
    assert model(x, edge_index, torch.zeros(3, 3, dtype=torch.long), batch).shape == (2, 1)


def test_help_texts_say_what_the_flags_do(capsys):
    for kind in SCRIPTS:
        with pytest.raises(SystemExit):
            example_cli.parse(["--help"], f"ogbn-{kind}", "", DEFAULTS[kind])
        text = capsys.readouterr().out
        assert "--preset" in text and "(default: None)" not in text
    with pytest.raises(SystemExit):
        example_cli.parse(["--help"], "ogbn-proteins", "", "revgnn-deep")
    assert "--species, --no-species" in capsys.readouterr().out


def test_molhiv_mistakes_are_one_line(tmp_path, capsys):
    argv = ["--root", str(tmp_path), "--epochs", "1"]
    assert molhiv.main(argv, "ogbg-molhiv", "", "deeper-gcn") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ogbg-molhiv: error: ogbg-molhiv: no OGB folder")
    write_ogbg_layout(str(tmp_path))
    assert molhiv.main([*argv, "--groups", "3"], "ogbg-molhiv", "", "deeper-gcn") == 2
    assert "--groups is not used" in capsys.readouterr().err
