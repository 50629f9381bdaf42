"""The OGB examples: every preset builds with the papers' parameter counts, and one epoch of
every preset runs through the example script on tiny OGB-layout folders written here."""

from __future__ import annotations

import importlib
import json
import math
import os.path as osp
import sys

import pytest
import torch
from torch_geometric.nn import GATConv

from revgnn.datasets import synthetic_dataset, write_ogb_layout
from revgnn.models import DeeperGCN, GraphPredictor
from tests.ogb_layouts import write_ogbg_layout

EXAMPLES = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), "ogb_examples")
sys.path.insert(0, EXAMPLES)
example_cli = importlib.import_module("example_cli")
SCRIPTS = {
    kind: importlib.import_module(f"ogbn_{kind}") for kind in ("proteins", "arxiv", "products")
}
molhiv = importlib.import_module("ogbg_molhiv")


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(kind: str, preset: str, *extra: str) -> torch.nn.Module:
    """The preset's model for the OGB shapes of ``kind`` (synthetic graph of the same widths)."""
    script = SCRIPTS[kind]
    args = example_cli.parse(
        ["--preset", preset, *extra], f"ogbn-{kind}", script.PRESETS, script.__doc__
    )
    ds = synthetic_dataset(kind, 40, 4.0, species=example_cli.settings(args)["species"])
    with torch.device("meta"):  # no storage: builds large presets fast
        return example_cli.build(args, ds)


def _count_at_depth(kind: str, preset: str, depth: int) -> int:
    """Parameters at ``depth`` from builds at 1, 2 and 3 layers (checked to be affine)."""
    c1, c2, c3 = (_count(_build(kind, preset, "--layers", str(n))) for n in (1, 2, 3))
    assert c3 - c2 == c2 - c1, "parameter count is not affine in the depth"
    return c1 + (depth - 1) * (c2 - c1)


@pytest.mark.parametrize(
    ("preset", "millions"),
    [("revgnn-deep", 20.03), ("revgnn-wide", 68.47), ("deeper-gcn", 2.37)],
)
def test_proteins_presets_match_the_papers_parameter_counts(preset, millions):
    depth = SCRIPTS["proteins"].PRESETS[preset]["layers"]
    assert round(_count_at_depth("proteins", preset, depth) / 1e6, 2) == millions


@pytest.mark.parametrize(
    ("kind", "preset", "count"),
    [("arxiv", "deeper-gcn", 491_176), ("products", "revgnn-112", 2_945_007)],
)
def test_arxiv_and_products_presets_parameter_counts(kind, preset, count):
    # The counts listed for these models on the OGB leaderboard.
    depth = SCRIPTS[kind].PRESETS[preset]["layers"]
    assert _count_at_depth(kind, preset, depth) == count


def test_full_depth_build_equals_the_extrapolated_count():
    # The extrapolation is exact: a 112-layer DeeperGCN built in full has the predicted count.
    model = _build("proteins", "deeper-gcn")
    assert model.num_layers == 112
    assert _count(model) == _count_at_depth("proteins", "deeper-gcn", 112) == 2_374_496


@pytest.mark.parametrize(
    ("kind", "preset"),
    [(k, p) for k, s in SCRIPTS.items() for p in s.PRESETS],
)
def test_every_preset_builds_with_its_settings(kind, preset):
    settings = SCRIPTS[kind].PRESETS[preset]
    model = _build(kind, preset, "--layers", "2")
    assert model.num_layers == 2
    assert model.hidden_channels == settings["hidden"]
    assert model.out_channels == {"proteins": 112, "arxiv": 40, "products": 47}[kind]
    if kind == "proteins":  # sum of incident edge features + species one-hot
        assert model.in_channels == 8 + 8
        assert model.encoder.edge is not None


def test_constructor_extras_reach_the_model():
    revgat = _build("arxiv", "revgat", "--layers", "2")
    gats = [m for m in revgat.modules() if isinstance(m, GATConv)]
    assert len(gats) == 4  # 2 blocks x 2 groups
    assert all(g.heads == 3 and g.out_channels == 128 for g in gats)  # 3 heads x 128 per group
    deeper = _build("arxiv", "deeper-gcn", "--layers", "2")
    assert isinstance(deeper, DeeperGCN)
    assert deeper.layers[0].aggr_module.t == pytest.approx(0.1)
    overridden = _build("arxiv", "deeper-gcn", "--layers", "2", "--t", "0.5")
    assert overridden.layers[0].aggr_module.t == pytest.approx(0.5)


def test_wrong_dataset_is_refused():
    script = SCRIPTS["arxiv"]
    with pytest.raises(SystemExit):
        example_cli.parse(["--dataset", "cora"], "ogbn-arxiv", script.PRESETS, script.__doc__)


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
    assert SCRIPTS[kind].main(argv, f"ogbn-{kind}", SCRIPTS[kind].PRESETS, "") == 0
    result = json.loads(out.read_text())
    settings = SCRIPTS[kind].PRESETS[preset]
    assert result["epochs"] == 1
    assert math.isfinite(result["test_metric"]) and 0.0 <= result["test_metric"] <= 1.0
    # The preset's values reach the run; the command line overrides them.
    assert result["settings"]["layers"] == 2
    for key in ("model", "aggr", "norm", "lr", "partition", "parts", "eval_parts"):
        if key in settings:
            assert result["settings"][key] == settings[key], key


@pytest.mark.parametrize("preset", list(molhiv.PRESETS))
def test_one_epoch_of_molhiv_through_ogb(preset, tmp_path):
    write_ogbg_layout(str(tmp_path))
    out = tmp_path / "summary.json"
    argv = ["--root", str(tmp_path), "--preset", preset, "--epochs", "1", "--hidden", "16"]
    argv += ["--layers", "2", "--batch-size", "8", "--runs", "2", "--no-progress"]
    assert molhiv.main([*argv, "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["metric"] == "rocauc" and summary["runs"] == 2
    assert len(summary["per_run"]) == 2 and summary["per_run"][1]["seed"] == 1
    assert 0.0 <= summary["test_mean"] <= 1.0
    assert summary["settings"]["aggr"] == "softmax" and summary["settings"]["layers"] == 2


def test_molhiv_preset_is_deeper_gcn_7x256():
    s = molhiv.settings(molhiv.parse(["--root", "unused"]))
    model = molhiv.build(s, 1)
    assert isinstance(model, GraphPredictor) and isinstance(model.model, DeeperGCN)
    assert model.model.num_layers == 7 and model.model.hidden_channels == 256
    assert _count(model) == 512_264
    x = torch.zeros(5, 9, dtype=torch.long)
    edge_index = torch.tensor([[0, 1, 3], [1, 2, 4]])
    batch = torch.tensor([0, 0, 0, 1, 1])
    model.eval()
    assert model(x, edge_index, torch.zeros(3, 3, dtype=torch.long), batch).shape == (2, 1)


def test_help_texts_say_what_the_flags_do(capsys):
    for kind, script in SCRIPTS.items():
        with pytest.raises(SystemExit):
            example_cli.parse(["--help"], f"ogbn-{kind}", script.PRESETS, script.__doc__)
        text = capsys.readouterr().out
        # The dataset is the script's: no --dataset flag offering every other one.
        assert "--dataset" not in text and "tolokers" not in text
        assert "(default: None)" not in text and "(default: True)" not in text
    with pytest.raises(SystemExit):
        example_cli.parse(["--help"], "ogbn-proteins", SCRIPTS["proteins"].PRESETS, "")
    assert "--species, --no-species" in capsys.readouterr().out


def test_molhiv_mistakes_are_one_line(tmp_path, capsys):
    assert molhiv.main(["--root", str(tmp_path), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ogbg-molhiv: error: ogbg-molhiv: no OGB folder")
    write_ogbg_layout(str(tmp_path))
    assert molhiv.main(["--root", str(tmp_path), "--epochs", "1", "--groups", "3"]) == 2
    assert "--groups is not used by --model deeper-gcn" in capsys.readouterr().err
