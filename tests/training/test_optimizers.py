import pytest
import torch

from revgnn.config import OptimConfig
from revgnn.models import GraphPredictor
from revgnn.training.optimizers import (
    Optimizers,
    block_decay,
    decay_targets,
    make_optimizer,
    model_blocks,
    param_groups,
)
from tests.helpers import deeper_gcn, rev_gnn


def test_auto_weight_decay_targets_the_input_encoder_of_shallow_models_only():
    shallow, deep = rev_gnn(5, 8, 2, 4), rev_gnn(5, 8, 2, 16)
    assert decay_targets(shallow, "auto") == "encoder.node"
    assert decay_targets(deep, "auto") == ""
    wrapped = GraphPredictor(deeper_gcn(9, 8, 1, 2, edge_dim=3), 8)
    assert decay_targets(wrapped, "auto") == "model.encoder.node"
    assert decay_targets(torch.nn.Linear(2, 2), "auto") == ""
    groups = param_groups(shallow, 0.1, "auto")
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    assert len(groups[0]["params"]) == 2  # the encoder's weight and bias
    assert len(param_groups(shallow, 0.0, "encoder.node")) == 1  # no decay: one group
    with pytest.raises(ValueError, match=r"the model has no submodule 'encoder.edge'"):
        param_groups(shallow, 0.1, "encoder.edge")


def test_block_weight_decay_applies_to_the_blocks_and_the_weight_decay_elsewhere():
    model = rev_gnn(5, 8, 2, 3, conv="gcnii")
    groups = param_groups(model, 5e-4, "", 0.01)
    assert [g["weight_decay"] for g in groups] == [5e-4, 0.01]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.layers.parameters()}
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))
    shallow = param_groups(model, 5e-4, "encoder.node", 0.01)
    assert [g["weight_decay"] for g in shallow] == [5e-4, 0.0, 0.01]
    assert len(shallow[0]["params"]) == 2  # the encoder; the head undecayed
    # A model without blocks: the setting has nothing to apply to.
    assert len(param_groups(torch.nn.Linear(2, 2), 5e-4, "", 0.01)) == 1


def test_auto_block_weight_decay_is_gciis_on_identity_mapped_blocks_only():
    gcnii = rev_gnn(5, 8, 2, 3, conv="gcnii")
    assert block_decay(gcnii, "auto") == 0.01
    assert [g["weight_decay"] for g in param_groups(gcnii, 5e-4, "", "auto")] == [5e-4, 0.01]
    # Convs whose weights carry the signal get the weight decay of weight_decay_on: a
    # DeeperGCN's first conv, outside any residual, is not decayed towards zero.
    for model in (deeper_gcn(5, 8, 2, 3), rev_gnn(5, 8, 2, 3, conv="sage")):
        assert block_decay(model, "auto") is None
        groups = param_groups(model, 5e-4, "encoder.node", "auto")
        assert [g["weight_decay"] for g in groups] == [5e-4, 0.0]
        undecayed = {id(p) for p in groups[1]["params"]}
        assert {id(p) for p in model.layers.parameters()} <= undecayed
    wrapped = GraphPredictor(rev_gnn(9, 8, 1, 2, conv="gen", edge_dim=3), 8)
    assert model_blocks(wrapped) is wrapped.model.layers and block_decay(wrapped, "auto") is None
    assert model_blocks(torch.nn.Linear(2, 2)) is None
    assert block_decay(torch.nn.Linear(2, 2), "auto") is None
    assert block_decay(gcnii, None) is None and block_decay(deeper_gcn(5, 8, 2, 3), 0.02) == 0.02


def test_optimisers_and_schedules_round_trip_their_state():
    model = torch.nn.Linear(3, 1)
    cfg = OptimConfig(optimizer="sgd", scheduler="step", lr_step=1, lr_gamma=0.5)
    opts = Optimizers.default(model, cfg)
    model(torch.randn(4, 3)).sum().backward()
    opts.main.step()
    opts.step_schedules()
    again = Optimizers.default(torch.nn.Linear(3, 1), cfg)
    again.load_state_dict(opts.state_dict())
    assert again.main.param_groups[0]["lr"] == pytest.approx(0.005)
    adam = Optimizers.default(model, OptimConfig())
    arch = Optimizers({"weights": adam.main, "arch": torch.optim.Adam(model.parameters())})
    with pytest.raises(KeyError, match="optimisers"):  # a search's state on a plain run
        adam.load_state_dict(arch.state_dict())


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_optimizers_step_as_torchs_per_parameter_loop_bit_for_bit(name):
    # The optimiser runs foreach (one call over all parameters): the same bits as the loop
    # torch runs by default for CPU tensors, with weight-decay groups, and the same state.
    torch.manual_seed(0)
    models = [rev_gnn(5, 8, 2, 3, conv="gcnii") for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    cfg = OptimConfig(optimizer=name, momentum=0.9)
    ours = make_optimizer(param_groups(models[0], 5e-4, "", 0.01), cfg)
    groups = param_groups(models[1], 5e-4, "", 0.01)
    if name == "sgd":
        loop = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, foreach=False)
    else:
        loop = torch.optim.Adam(groups, lr=cfg.lr, foreach=False)
    for _ in range(5):
        grads = [torch.randn_like(p) for p in models[0].parameters()]
        for model, opt in zip(models, (ours, loop)):
            for p, g in zip(model.parameters(), grads):
                p.grad = g.clone()
            opt.step()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(a, b)
    assert ours.defaults["foreach"] is True
    loop.load_state_dict(ours.state_dict())  # checkpoints from either load into the other
