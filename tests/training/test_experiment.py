import pytest
import torch

from revgnn.config import Recipe
from revgnn.datasets.positional_features import HOPS, PROJECTIONS, random_walk_projections
from revgnn.datasets.stats import graph_stats
from revgnn.training import NodeTask, seed_everything, train
from revgnn.training.experiment import prepare
from tests.datasets.node_fakes import REAL, write_node_datasets
from tests.ogb_layouts import write_ogbg_layout


def test_prepare_loads_adapts_and_builds_the_task():
    exp = prepare(Recipe().with_values({"model.num_layers": 3}))
    assert isinstance(exp.task, NodeTask) and exp.kind == "node"
    assert (exp.in_channels, exp.out_channels, exp.edge_dim) == (1433, 7, None)
    assert exp.recipe.optim.weight_decay_on == "encoder.node"  # resolved on the built model
    assert exp.recipe.model.branch_gate is None and exp.recipe.run.device in ("cpu", "cuda")
    stats = graph_stats(exp.dataset)
    assert stats.num_nodes == 2708 and stats.nonnegative_features
    assert exp.build().num_layers == 3


def test_a_shallow_deeper_gcn_learns_with_the_default_recipe():
    # GCNII's strong decay on the blocks is for its identity-mapped convs: on GENConv's MLPs it
    # pulled the first conv (no residual around it) to zero, and the loss stayed at log(7).
    exp = prepare(Recipe().with_values({"model.model": "deeper-gcn", "model.num_layers": 3,
                                        "optim.epochs": 30}))  # fmt: skip
    assert exp.recipe.optim.block_weight_decay is None
    assert prepare(Recipe()).recipe.optim.block_weight_decay == 0.01  # gcnii blocks
    seed_everything(0)
    result = train(exp.build(), exp.task, exp.train_config.with_(progress=False))
    assert result.final_loss < 1.5 and result.valid_metric > 0.5


def test_prepare_keeps_the_registered_spelling_of_the_dataset():
    exp = prepare(Recipe().with_values({"data.dataset": "Cora", "model.num_layers": 2}),
                  build=False)  # fmt: skip
    assert exp.recipe.data.dataset == "cora" and exp.dataset.num_nodes == 2708


def test_a_model_of_the_wrong_family_or_a_bad_setting_fails_before_training():
    with pytest.raises(ValueError, match="needs a node model"):
        prepare(Recipe().with_values({"model.model": "deepgcn"}))
    with pytest.raises(ValueError, match="needs a point-cloud"):
        prepare(Recipe().with_values({"data.dataset": "synthetic-textures"}))
    with pytest.raises(ValueError, match="heads=3 must divide"):
        prepare(Recipe().with_values({"model.conv": "gat", "model.conv_options.heads": 3}))


def test_head_bias_prior_starts_the_model_at_the_training_labels_prior():
    small = {"data.dataset": "synthetic-proteins", "data.num_nodes": 300, "model.num_layers": 2,
             "model.conv": "gen"}  # fmt: skip
    exp = prepare(Recipe().with_values(small))
    assert exp.recipe.model.head_bias == "prior"  # multi-label: auto's choice
    prior = exp.task.prior_logits()
    assert prior.shape == (112,) and torch.equal(exp.build().head.lin.bias.detach(), prior)
    init = prepare(Recipe().with_values({**small, "model.head_bias": "init"})).build()
    assert not torch.equal(init.head.lin.bias.detach(), prior)
    cora = prepare(Recipe().with_values({"model.num_layers": 2}))
    assert cora.recipe.model.head_bias == "init"  # one class per node
    explicit = prepare(Recipe().with_values({"model.num_layers": 2, "model.head_bias": "prior"}))
    assert torch.equal(explicit.build().head.lin.bias.detach(), explicit.task.prior_logits())
    explicit.task.prior_logits = lambda: None  # as a task without labels per node has it
    with pytest.raises(ValueError, match="head_bias='prior' needs a node task"):
        explicit.build()


def test_positional_features_reach_the_model_of_a_graph_without_features(tmp_path):
    root = write_node_datasets(tmp_path)
    deezer = {"data.dataset": "deezer-hu", "data.root": root, "model.num_layers": 2}
    exp = prepare(Recipe().with_values({**deezer, "data.split_seed": 4}))
    assert exp.recipe.data.positional == "walk" and exp.in_channels == 1 + PROJECTIONS * len(HOPS)
    data = exp.dataset.data
    expected = random_walk_projections(data.edge_index, data.num_nodes, seed=4)
    assert torch.equal(data.x[:, 1:], expected)  # seeded by the data's seed
    assert exp.build().encoder.node.in_features == exp.in_channels
    off = prepare(Recipe().with_values({**deezer, "data.positional": "none"}))
    assert off.in_channels == 1
    cora = prepare(Recipe().with_values({"model.num_layers": 2}))
    assert cora.recipe.data.positional == "none" and cora.in_channels == 1433
    asked = prepare(Recipe().with_values({"model.num_layers": 2, "data.positional": "walk"}))
    assert asked.in_channels == 1433 + PROJECTIONS * len(HOPS)


GENERATED = ["synthetic-arxiv", "synthetic-products", "synthetic-proteins"]


@pytest.mark.parametrize("name", [*REAL, *GENERATED])
def test_the_default_recipe_builds_and_runs_on_every_node_dataset(name, tmp_path):
    settings = {"data.dataset": name, "model.num_layers": 2}
    if name in GENERATED:
        settings.update({"data.num_nodes": 300, "data.avg_degree": 4.0})
    elif name != "cora":
        settings["data.root"] = write_node_datasets(tmp_path)
    exp = prepare(Recipe().with_values(settings))
    data = exp.dataset.data
    if exp.edge_dim is not None:  # edge features reach a conv that takes them
        assert exp.recipe.model.conv == "gen" and exp.build().encoder.edge is not None
    model = exp.build().eval()
    args = (data.x, data.edge_index) + ((data.edge_attr,) if exp.edge_dim is not None else ())
    with torch.no_grad():
        assert model(*args).shape == (exp.dataset.num_nodes, exp.out_channels)


def test_the_default_recipe_takes_a_molecules_bond_features(tmp_path):
    write_ogbg_layout(str(tmp_path), num_graphs=24)
    exp = prepare(Recipe().with_values({"data.dataset": "ogbg-molhiv", "data.root": str(tmp_path),
                                        "model.num_layers": 2}))  # fmt: skip
    assert exp.edge_dim == 3 and exp.recipe.model.conv == "gen"
    assert exp.build().model.encoder.edge is not None
