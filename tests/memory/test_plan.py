import pytest
import torch

from revgnn.memory import plan
from revgnn.memory.kinds import Config, buffer_bytes, num_parameters
from revgnn.memory.plan import max_depth, max_width, min_parts, part_sizes, predict, static_bytes
from revgnn.utils.units import parse_bytes


def test_reversible_memory_grows_with_depth_only_through_parameters():
    # RevGNN: going from 7 to 1001 layers adds weights, gradients and Adam state (16 bytes a
    # parameter) and BatchNorm buffers, and no activations; a plain deep GNN adds both.
    a = Config(kind="revgnn", num_layers=7, hidden_channels=80)
    b = a.with_(num_layers=1001)
    extra = 16 * (num_parameters(b) - num_parameters(a))
    extra += buffer_bytes(b) - buffer_bytes(a)
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


def test_exact_terms_of_the_default_model():
    # A damped stack's snapshots: one N x D float64 stream copy where its stream moves to a
    # coarser grid (none below 32 layers, additive, and none from 33 on); the input dropout's
    # fp32 output over dense features (its mask is recomputed, not kept).
    base = Config(kind="revgnn-gcnii", hidden_channels=16, num_nodes=40, num_edges=160,
                  in_channels=12, out_channels=3, edge_dim=None)  # fmt: skip
    counts = {n: plan.snapshot_bytes(base.with_(num_layers=n)) / (40 * 16 * 8)
              for n in (16, 31, 32, 64, 256)}  # fmt: skip
    assert counts == {16: 0, 31: 0, 32: 1, 64: 0, 256: 0}
    assert plan.input_dropout_bytes(base) == 4 * 40 * 12
    sparse = base.with_(feature_density=0.01)
    assert plan.input_dropout_bytes(sparse) == pytest.approx(4 * 0.01 * 40 * 12)
    # Kinds whose recipe has no input dropout, and the PyG peers: neither term.
    assert plan.input_dropout_bytes(Config(kind="revgnn")) == 0.0
    assert plan.snapshot_bytes(Config(kind="pyg-groupaddrev", num_layers=64)) == 0.0


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


def test_min_parts_is_the_boundary():
    big = Config(kind="deepergcn", num_layers=28, hidden_channels=64, num_nodes=100_000,
                 num_edges=5_000_000)  # fmt: skip
    budget = parse_bytes("1GB")
    assert predict(big).total > budget
    p = min_parts(big, budget)
    assert p > 1
    assert predict(part_sizes(big, p)).total <= budget
    assert predict(part_sizes(big, p - 1)).total > budget
    assert part_sizes(big, 3).num_nodes == 33_334 and part_sizes(big, 3).num_edges == 1_666_667
    assert min_parts(big, predict(big).total) == 1  # the whole graph fits: one part
    # Nothing fits where the parameters alone exceed the budget.
    assert min_parts(big, num_parameters(big) * 4) is None


def test_uncalibrated_combination_says_so(monkeypatch):
    monkeypatch.setattr(plan, "CALIBRATION", {"revgnn/max/fp32": {"N*D": 10.0}})
    cfg = Config(kind="revgnn", num_layers=3, hidden_channels=16, aggr="softmax")
    est = predict(cfg)
    assert not est.calibrated
    assert est.constants == "revgnn/max/fp32"
    assert est.terms["activations"] == 10.0 * cfg.num_nodes * 16


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["revgnn", "deepergcn"])
def test_cuda_prediction_is_within_15_percent_of_max_memory_allocated(kind):
    from revgnn.profiling.profile import sweep

    cfg = Config(kind=kind, num_layers=28, hidden_channels=64, num_nodes=2000, num_edges=40000)
    (record,) = sweep([cfg], device="cuda", timed_steps=0, progress=False)
    assert "peak_bytes" in record, record
    assert record["predicted_bytes"] == pytest.approx(predict(cfg, device="cuda").total)
    assert abs(record["predicted_bytes"] / record["peak_bytes"] - 1) <= 0.15


def test_a_cuda_plan_adds_the_cublas_workspaces_and_nothing_else():
    from revgnn.memory.cuda_workspace import step_workspace_bytes

    cfg = Config(kind="revgnn", num_layers=28, hidden_channels=64)
    cpu, cuda = predict(cfg), predict(cfg, device="cuda")
    assert "cuBLAS workspaces" not in cpu.terms
    assert cuda.terms["cuBLAS workspaces"] == step_workspace_bytes("cuda") > 0
    assert cuda.total - cpu.total == step_workspace_bytes("cuda")
    budget = cpu.total + step_workspace_bytes("cuda") / 2
    assert max_width(cfg, budget) >= 64 > max_width(cfg, budget, device="cuda")


def test_message_block_feature_is_capped_at_one_block():
    from revgnn.nn.conv.gat_conv import BLOCK_ENTRIES

    def revgat(edges):  # 2 groups of 384 channels, no edge features (ogbn-arxiv's RevGAT)
        return Config(kind="revgat", hidden_channels=768, num_groups=2, num_nodes=100,
                      num_edges=edges, edge_dim=None)  # fmt: skip

    assert plan.features(revgat(1000))["E*D/C|block"] == 1000 * 384
    rows = BLOCK_ENTRIES // 384  # edges in one block
    for edges in (rows, 10 * rows, 2_332_486):
        assert plan.features(revgat(edges))["E*D/C|block"] == rows * 384
    # Beyond one block the activations grow only by the per-edge attention term.
    grown = predict(revgat(20 * rows)).terms["activations"]
    base = predict(revgat(10 * rows)).terms["activations"]
    per_edge = plan.CALIBRATION["revgat/own/fp32"].get("E", 0.0)
    assert grown - base == pytest.approx(per_edge * 10 * rows)
