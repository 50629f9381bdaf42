import copy

import pytest
import torch
import torch.nn.functional as F

from revgnn import DeepGCNBlock, GENConv
from revgnn.memory import saved_activation_bytes
from tests.helpers import deeper_gcn, random_graph, rel_err

N, E, F_IN, F_EDGE, OUT = 30, 150, 7, 4, 3


def data(edge_dim=F_EDGE, dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, F_IN, generator=g, dtype=dtype)
    edge_attr = torch.randn(E, edge_dim, generator=g, dtype=dtype) if edge_dim else None
    return x, random_graph(N, E), edge_attr


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_paper_parameter_count():
    # DeeperGCN (ResGCN+) on ogbn-proteins: 112 layers x 64 channels, 8-d node features (summed
    # edge features), edge_dim 8, 112 tasks, learned softmax: 2.37M parameters in the paper.
    model = deeper_gcn(8, 64, 112, 112, edge_dim=8)
    assert count(model) == 2_373_984
    # Every layer: its GENConv with an edge encoder (64x64), MLP 64-128-64 with LayerNorm,
    # a learned t, and one LayerNorm (the 112th is the final one).
    per_layer = (64 * 64 + 64) + (64 * 128 + 128) + 2 * 128 + (128 * 64 + 64) + 1 + 2 * 64
    assert count(model) == 112 * per_layer + (8 * 64 + 64) * 2 + (64 * 112 + 112)


def test_res_plus_structure():
    model = deeper_gcn(F_IN, 16, OUT, 4, edge_dim=F_EDGE)
    assert isinstance(model.layers[0], GENConv)  # the first layer is a bare conv
    assert all(isinstance(m, DeepGCNBlock) and m.block == "res+" for m in model.layers[1:])
    assert isinstance(model.head.norm, torch.nn.LayerNorm)
    assert model.layers[1].conv_module.lin_edge is not None  # encode_edge, as the paper's
    assert model.layers[1].conv_module.aggr_module.learn


def test_forward_equals_the_res_plus_equations():
    torch.manual_seed(0)
    model = deeper_gcn(F_IN, 16, OUT, 3, edge_dim=F_EDGE, dropout=0.0).eval()
    x, edge_index, edge_attr = data()
    e = model.encoder.edge(edge_attr)
    h = model.layers[0](model.encoder.node(x), edge_index, e)
    for block in model.layers[1:]:
        h = h + block.fn.conv(F.relu(block.fn.norm(h)), edge_index, e)
    ref = model.head.lin(F.relu(model.head.norm(h)))
    assert rel_err(model(x, edge_index, edge_attr), ref) <= 1e-6


@pytest.mark.parametrize("block", ["res+", "res", "plain", "dense"])
@pytest.mark.parametrize("edge_dim", [None, F_EDGE])
def test_every_block_kind_trains(block, edge_dim):
    torch.manual_seed(0)
    model = deeper_gcn(F_IN, 8, OUT, 3, edge_dim=edge_dim, block=block, dropout=0.1)
    x, edge_index, edge_attr = data(edge_dim)
    y = torch.randint(0, OUT, (N,), generator=torch.Generator().manual_seed(2))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)

    def eval_loss() -> float:  # without dropout: the fit, not one draw of the masks
        with torch.no_grad():
            return F.cross_entropy(model.eval()(x, edge_index, edge_attr), y).item()

    losses = [eval_loss()]
    for _ in range(30):
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x, edge_index, edge_attr), y).backward()
        opt.step()
    losses.append(eval_loss())
    # A plain stack over-smooths this small random graph (what res+ was designed against):
    # it only has to make progress; the residual kinds fit the labels.
    assert losses[-1] < (losses[0] if block == "plain" else 0.7 * losses[0]), losses
    assert model(x, edge_index, edge_attr).shape == (N, OUT)
    if block == "dense":
        assert model.head.lin.in_features == 8 * 3


@pytest.mark.parametrize("aggr", ["softmax", "power", "softmax_sum", "max"])
def test_lean_and_plain_models_agree(aggr):
    torch.manual_seed(0)
    options = {"aggr": aggr, "learn_p": True, "learn_y": True}
    lean = deeper_gcn(F_IN, 8, OUT, 4, edge_dim=F_EDGE, conv_options=options)
    plain = copy.deepcopy(lean)
    for m in plain.modules():
        if isinstance(m, GENConv):
            m.lean = False
    lean.double(), plain.double()
    x, edge_index, edge_attr = data(dtype=torch.float64)
    outs = []
    for model in (lean, plain):
        torch.manual_seed(3)
        out = model(x, edge_index, edge_attr)
        out.square().mean().backward()
        outs.append(out)
    assert rel_err(outs[0], outs[1]) <= 1e-10
    for (name, p), q in zip(lean.named_parameters(), plain.parameters()):
        if p.grad is None:  # parameters of a first bare conv's unused branches
            assert q.grad is None, name
            continue
        if q.grad.abs().max() < 1e-12:  # a bias right before a norm: zero gradient
            continue
        assert rel_err(p.grad, q.grad) <= 1e-8, name


def test_lean_model_saves_less_than_plain():
    x, edge_index, edge_attr = data()
    saved = {}
    for lean in (False, True):
        torch.manual_seed(0)
        model = deeper_gcn(F_IN, 16, OUT, 4, edge_dim=F_EDGE, conv_options={"lean": lean})
        _, s = saved_activation_bytes(lambda m=model: m(x, edge_index, edge_attr), exclude=[model])
        saved[lean] = s.total
    assert saved[True] < 0.6 * saved[False], saved


def test_aggregator_module_is_copied_per_layer():
    from revgnn.nn.aggr import PowerMeanAggregation

    aggr = PowerMeanAggregation(p=2.0, learn=True)
    model = deeper_gcn(F_IN, 8, OUT, 3, conv_options={"aggr": aggr})
    ps = [m.aggr_module.p for m in model.modules() if isinstance(m, GENConv)]
    assert len(ps) == 3 and len({id(p) for p in ps}) == 3


def test_reset_parameters_and_errors():
    model = deeper_gcn(F_IN, 8, OUT, 2, conv_options={"t": 0.5})
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(2.0)
    model.reset_parameters()
    assert model.layers[1].conv_module.aggr_module.t.item() == 0.5
    assert torch.equal(model.head.norm.weight, torch.ones(8))
    assert not torch.equal(model.head.lin.weight, torch.full_like(model.head.lin.weight, 2.0))
    assert repr(model) == (
        "DeeperGCN(7, 8, 3, num_layers=2, block='res+', conv=GENConv(8, 8, aggr=softmax), "
        "edge_dim=None)"
    )
    x, edge_index, edge_attr = data()
    with pytest.raises(ValueError, match="edge_attr must be given exactly when"):
        model(x, edge_index, edge_attr)
    with pytest.raises(ValueError, match="block='resnet' must be one of res\\+, res, dense, plain"):
        deeper_gcn(F_IN, 8, OUT, 2, block="resnet")
    with pytest.raises(ValueError, match="num_layers=0 must be at least 1"):
        deeper_gcn(F_IN, 8, OUT, 0)


def test_the_default_recipe_gates_every_residual_block_from_deep_on():
    # Ungated res+ GENConv blocks without normalisation add up through the stack: with 16 of
    # them the default run on Cora collapsed to one class after its first step.
    from revgnn import ModelConfig, build_model
    from revgnn.config.adapt import adapt_model
    from revgnn.config.model import DEEP

    torch.manual_seed(0)
    for block in ("res+", "res"):
        cfg = adapt_model(ModelConfig(model="deeper-gcn", num_layers=DEEP, block=block))
        model = build_model(cfg, F_IN, OUT).eval()
        gates = [m.fn.gate if block == "res+" else m.gate for m in model.layers[1:]]
        assert len(gates) == DEEP - 1 and all(g.item() == 0.0 for g in gates)
        h, edge_index = torch.randn(N, cfg.hidden_channels), random_graph(N, E)
        with torch.no_grad():  # every gated block passes its input on, exactly
            for layer in model.layers[1:]:
                assert torch.equal(layer(h, edge_index), h)
    shallow = adapt_model(ModelConfig(model="deeper-gcn", num_layers=DEEP - 1))
    assert not any("gate" in n for n, _ in build_model(shallow, F_IN, OUT).named_parameters())
