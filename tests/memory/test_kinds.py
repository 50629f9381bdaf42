import pytest
import torch

from revgnn.memory.kinds import MODEL_KINDS, Config, buffer_bytes, build_model, num_parameters

# (depth, width, groups, edge_dim, aggr, learn_t, learn_p, mlp_layers, norm)
SHAPES = [
    (1, 12, 2, None, "mean", False, False, 1, "batch"),
    (3, 16, 2, 8, "max", False, False, 2, None),
    (2, 24, 3, None, "softmax", True, False, 2, "batch"),
    (4, 32, 4, 5, "power", False, True, 3, "layer"),
    (5, 48, 2, 48, "softmax_sg", False, False, 2, "layer"),
]


def _fits(kind, shape):
    """Whether a shape is one the kind can build (edge features, channels per group)."""
    k = MODEL_KINDS[kind]
    width, groups, edge_dim = shape[1], shape[2], shape[3]
    per_group = width // groups if k.grouped else width
    return (edge_dim is None or k.edge_features) and per_group % k.channel_multiple == 0


@pytest.mark.parametrize(
    ("kind", "shape"),
    [(k, s) for k in MODEL_KINDS for s in SHAPES if _fits(k, s)],
    ids=lambda v: v if isinstance(v, str) else f"L{v[0]}-D{v[1]}-C{v[2]}-{v[4]}",
)
def test_meta_device_counts_equal_the_built_model(kind, shape):
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
    assert buffer_bytes(cfg) == buffers


@pytest.mark.parametrize("kind", list(MODEL_KINDS))
def test_built_model_runs_on_the_configured_graph(kind):
    k = MODEL_KINDS[kind]
    cfg = Config(kind=kind, num_layers=2, hidden_channels=12, num_nodes=12, num_edges=30,
                 edge_dim=8 if k.edge_features else None)  # fmt: skip
    model = build_model(cfg)
    x = torch.randn(cfg.num_nodes, cfg.in_channels)
    edge_index = torch.randint(0, cfg.num_nodes, (2, cfg.num_edges))
    edge_attr = torch.randn(cfg.num_edges, 8) if k.edge_features else None
    assert model(x, edge_index, edge_attr).shape == (cfg.num_nodes, cfg.out_channels)


def test_kinds_with_their_own_conv_ignore_the_genconv_aggregation():
    sage = Config(kind="revgnn-sage", num_layers=2, hidden_channels=16, edge_dim=None)
    assert num_parameters(sage) == num_parameters(sage.with_(aggr="softmax", learn_t=True))
    with pytest.raises(ValueError, match="kind='revgnn-sage' reads no edge features"):
        Config(kind="revgnn-sage", num_layers=2, hidden_channels=16, edge_dim=8)
    with pytest.raises(ValueError, match=r"multiple of 3 .*hidden_channels=16 with num_groups=2"):
        Config(kind="revgat", num_layers=2, hidden_channels=16)


def test_config_rejects_bad_input():
    with pytest.raises(ValueError, match="kind='resnet' is not one of"):
        Config(kind="resnet", num_layers=3, hidden_channels=8)
    cfg = Config(kind="DeeperGCN", num_layers=3, hidden_channels=8, aggr="SoftMax_SG")
    assert (cfg.kind, cfg.aggr) == ("deepergcn", "softmax_sg")
    with pytest.raises(ValueError, match=r"kind='deeper_gnc' .*; did you mean 'deepergcn'"):
        Config(kind="deeper_gnc", num_layers=3, hidden_channels=8)
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
