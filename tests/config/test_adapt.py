import pytest

from revgnn.config import DEEP, ModelConfig, Recipe, adapt
from revgnn.config.adapt import (
    EDGE_CONV,
    IDENTITY_MAPPED_DECAY,
    GraphStats,
    adapt_model,
    adapt_to_model,
    auto_damping,
    block_decay_rule,
    conv_rule,
    damped_time_rule,
    feature_rule,
    head_bias_rule,
    positional_rule,
    stream_init_rule,
    weight_decay_targets,
)
from revgnn.config.model import (
    DAMPED_TIME,
    DIFFUSION_TIME,
    FADED_START,
    MAX_AUTO_DAMPING,
    SPARSE_LABELS,
)
from revgnn.nn.damped_scales import planned_regrids
from tests.helpers import deeper_gcn, rev_gnn


def test_the_depth_rule_for_convs_without_an_initial_residual():
    gen = ModelConfig(conv="gen")
    assert adapt_model(ModelConfig(conv="gen", num_layers=DEEP)).branch_gate == 0.0
    assert adapt_model(ModelConfig(conv="gen", num_layers=DEEP - 1)).branch_gate is None
    assert adapt_model(gen).branch_scale is None and adapt_model(gen).stream_init == "input"
    assert adapt_model(ModelConfig(conv="gen", branch_gate=0.5)).branch_gate == 0.5  # kept
    deeper = adapt_model(ModelConfig(model="deeper-gcn", num_layers=64))
    assert deeper.conv == "gen"  # conv="auto" is the model's own conv
    assert deeper.branch_gate == 0.0  # DeeperGCN's res+ / res blocks take the gate too
    assert adapt_model(ModelConfig(model="deeper-gcn", num_layers=DEEP - 1)).branch_gate is None
    for block in ("dense", "plain"):  # no residual branch: the setting stays unused
        cfg = ModelConfig(model="deeper-gcn", num_layers=64, block=block)
        assert adapt_model(cfg).branch_gate == "auto"
    deq = adapt_model(ModelConfig(model="deq-gnn", num_layers=64))
    assert deq.branch_gate == "auto"  # a model without gates keeps the unused setting
    assert weight_decay_targets(DEEP - 1, True) == "encoder.node"
    assert weight_decay_targets(DEEP, True) == weight_decay_targets(4, False) == ""


@pytest.mark.parametrize("layers", [2, 4, 16, 31, 32, 64, 1000])
def test_initial_residual_blocks_propagate_for_the_same_time_at_every_depth(layers):
    cfg = adapt_model(ModelConfig(num_layers=layers))
    assert cfg.conv == "gcnii" and cfg.branch_gate is None
    if layers * MAX_AUTO_DAMPING >= DAMPED_TIME:  # damped steps, DAMPED_TIME in all
        assert cfg.damping == cfg.branch_scale == DAMPED_TIME / layers
        assert cfg.stream_init == "input"  # the start fades to (1 - d)^L < 1e-7 at the head
    else:  # additive steps, DIFFUSION_TIME in all
        assert cfg.damping == 0.0 and cfg.branch_scale == min(1.0, DIFFUSION_TIME / layers)
        assert cfg.stream_init == "zero"
    assert adapt_model(ModelConfig(num_layers=layers, branch_scale=None)).branch_scale is None
    # A set damping is kept, and the branch steps that far towards its fixed point.
    assert adapt_model(ModelConfig(num_layers=layers, damping=0.25)).branch_scale == 0.25
    additive = adapt_model(ModelConfig(num_layers=layers, damping=0.0))
    assert additive.branch_scale == min(1.0, DIFFUSION_TIME / layers)


def test_auto_damping_needs_no_snapshot_from_33_blocks():
    # The stream grows by about e^DAMPED_TIME whatever the depth, which its fixed-point grid
    # holds: the exact rebuild keeps no stream copy, so memory stays flat in depth (32 blocks
    # at d = 0.5, 2^32 of growth, move to a coarser grid once).
    counts = {}
    for layers in range(1, 5001):
        damping = auto_damping(layers)
        if damping == 0.0:
            assert layers * MAX_AUTO_DAMPING < DAMPED_TIME
            continue
        counts[layers] = len(planned_regrids(layers, 1.0 - damping))
    assert min(counts) == 32 and counts.pop(32) == 1 and set(counts.values()) == {0}
    # Convs without an initial residual and models without a coupling are not damped.
    assert adapt_model(ModelConfig(conv="gen", num_layers=64)).damping == 0.0
    assert adapt_model(ModelConfig(model="deeper-gcn", num_layers=64)).damping == "auto"


def test_adapt_fills_every_auto_value():
    recipe = adapt(Recipe())
    assert recipe.run.device in ("cpu", "cuda") and recipe.model.branch_gate is None
    assert recipe.data.features == "raw"  # no graph to look at: the features as they are
    assert recipe.optim.block_weight_decay == "auto"  # resolved on the built model
    resolved = adapt_to_model(recipe, "encoder.node", 0.01)
    assert resolved.optim.weight_decay_on == "encoder.node"
    assert resolved.optim.block_weight_decay == 0.01
    kept = adapt_to_model(resolved, "", None).optim  # set: kept
    assert (kept.weight_decay_on, kept.block_weight_decay) == ("encoder.node", 0.01)


def test_gciis_block_decay_is_for_blocks_of_identity_mapped_convs():
    assert block_decay_rule(rev_gnn(5, 8, 2, 2, conv="gcnii").layers) == IDENTITY_MAPPED_DECAY
    for blocks in (deeper_gcn(5, 8, 2, 2).layers, rev_gnn(5, 8, 2, 2, conv="gat").layers, None):
        assert block_decay_rule(blocks) is None


def _stats(**kw):
    base = dict(num_nodes=1000, num_edges=4000, num_features=500, binary_features=True,
                nonnegative_features=True, feature_density=0.01, num_train=100)  # fmt: skip
    return GraphStats(**{**base, **kw})


@pytest.mark.parametrize(
    ("kind", "stats", "rule"),
    [
        ("bag of words, scarce labels", _stats(), "row"),
        ("bag of words, a label per column", _stats(num_train=500), "row_scaled"),
        ("dense binary attributes", _stats(feature_density=0.35), "standard"),
        ("counts", _stats(binary_features=False, feature_density=0.5), "standard"),
        (
            "signed measurements",
            _stats(binary_features=False, nonnegative_features=False, feature_density=1.0),
            "standard",
        ),
        ("one structural column", _stats(num_features=1, feature_density=1.0), "standard"),
        ("a single one-hot column", _stats(num_features=1, feature_density=0.01), "standard"),
    ],
)
def test_the_feature_rule(kind, stats, rule):
    assert feature_rule(stats) == rule, kind
    recipe = adapt(Recipe(), stats)
    assert recipe.data.features == rule
    assert adapt(Recipe().with_values({"data.features": "raw"}), stats).data.features == "raw"


@pytest.mark.parametrize("layers", [8, 16, 31, 32, 64, 1000])
def test_the_damped_time_follows_the_share_of_labelled_nodes(layers):
    sparse, dense = _stats(num_train=100), _stats(num_train=600)  # 10% and 60% of 1,000
    edge = int(SPARSE_LABELS * 1000)
    assert damped_time_rule(_stats(num_train=edge - 1)) == DAMPED_TIME
    assert damped_time_rule(_stats(num_train=edge)) == DIFFUSION_TIME
    assert damped_time_rule(None) == damped_time_rule(_stats(num_train=0)) == DAMPED_TIME
    for stats, time in ((sparse, DAMPED_TIME), (dense, DIFFUSION_TIME), (None, DAMPED_TIME)):
        model = adapt(Recipe().with_values({"model.num_layers": layers}), stats).model
        direct = adapt_model(ModelConfig(num_layers=layers), stats)
        assert (model.damping, model.branch_scale) == (direct.damping, direct.branch_scale)
        if layers * MAX_AUTO_DAMPING >= DAMPED_TIME:  # the depth alone decides the coupling
            assert model.damping == model.branch_scale == time / layers
        else:
            assert model.damping == 0.0 and model.branch_scale == min(1.0, DIFFUSION_TIME / layers)
        # The stream starts at the input where the damped start fades, which it does over
        # DAMPED_TIME and not over DIFFUSION_TIME.
        fades = model.damping > 0.0 and time == DAMPED_TIME
        assert model.stream_init == direct.stream_init == ("input" if fades else "zero")
    # A set damping is kept on any graph, and so is an unscaled branch.
    pinned = ModelConfig(num_layers=layers, damping=0.25, branch_scale=None)
    assert adapt_model(pinned, dense) == adapt_model(pinned, sparse)
    assert adapt_model(pinned, dense).damping == 0.25


def test_the_stream_starts_at_the_input_where_a_damped_stack_fades_its_start():
    assert stream_init_rule(False, 8, 0.0) == stream_init_rule(False, 64, 0.25) == "input"
    assert stream_init_rule(True, 16, 0.0) == "zero"  # additive: the start reaches the head
    assert stream_init_rule(True, 64, DIFFUSION_TIME / 64) == "zero"  # 0.9375^64 = 0.016
    assert stream_init_rule(True, 64, DAMPED_TIME / 64) == "input"  # 0.75^64 = 1e-8
    assert stream_init_rule(True, 1000, DAMPED_TIME / 1000) == "input"  # about e^-16
    # The threshold, from both sides: 0.5^L crosses FADED_START between 9 and 10 layers.
    assert 0.5**9 > FADED_START > 0.5**10
    assert stream_init_rule(True, 9, 0.5) == "zero" and stream_init_rule(True, 10, 0.5) == "input"
    # A set stream_init is kept.
    assert adapt_model(ModelConfig(num_layers=64, stream_init="zero")).stream_init == "zero"


def test_the_positional_rule_adds_positions_to_graphs_without_features():
    assert positional_rule(_stats(num_features=1, feature_density=1.0)) == "walk"  # log-degree
    assert positional_rule(_stats(num_features=2)) == "none"
    assert positional_rule(_stats()) == "none"
    assert positional_rule(None) == "none"  # graph and point-cloud tasks
    featureless = _stats(num_features=1, feature_density=1.0)
    assert adapt(Recipe(), featureless).data.positional == "walk"
    kept = adapt(Recipe().with_values({"data.positional": "none"}), featureless)
    assert kept.data.positional == "none"


def test_the_head_bias_rule_starts_multilabel_outputs_at_the_prior():
    assert head_bias_rule(_stats(multilabel=True)) == "prior"
    assert head_bias_rule(_stats()) == "init"  # one class per node: softmax outputs
    assert head_bias_rule(None) == "init"  # graph and point-cloud tasks
    assert adapt(Recipe(), _stats(multilabel=True)).model.head_bias == "prior"
    assert adapt(Recipe(), _stats()).model.head_bias == "init"
    pinned = Recipe().with_values({"model.head_bias": "init"})
    assert adapt(pinned, _stats(multilabel=True)).model.head_bias == "init"


def test_the_conv_rule_keeps_the_edge_features():
    recipe = adapt(Recipe(), _stats(), edge_dim=8)  # RevGNN's GCNII takes no edge features
    assert recipe.model.conv == EDGE_CONV == "gen"
    assert recipe.model.damping == 0.0 and recipe.model.stream_init == "input"  # GEN's rules
    assert adapt(Recipe(), _stats()).model.conv == "gcnii"  # no edge features: unchanged
    assert adapt(Recipe(), None, edge_dim=3).model.conv == "gen"  # molecules' bonds
    explicit = Recipe().with_values({"model.conv": "gcnii"}).model
    assert conv_rule(explicit, 8).conv == "gcnii"  # a user's conv is kept (and refused at
    # build time, naming the convs that take edge features)
    deeper = Recipe().with_values({"model.model": "deeper-gcn"}).model
    assert conv_rule(deeper, 8) is deeper  # its GEN takes them already
