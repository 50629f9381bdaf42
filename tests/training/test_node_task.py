import pytest
import torch

from revgnn import TrainConfig, train
from revgnn.datasets import synthetic_dataset
from revgnn.training import FullBatch, NodeTask
from tests.helpers import rev_gnn


def test_batches_losses_and_scores_of_a_node_task():
    ds = synthetic_dataset("arxiv", 120, 6.0, seed=0)
    task = NodeTask(ds, partition="random", num_parts=3, eval_parts=2, eval_views=2)
    task.setup(torch.device("cpu"), seed=4)
    batches = task.train_batches(1)
    assert len(batches) == 3 and sum(b.num_nodes for b in batches) == ds.num_nodes
    out = torch.zeros(batches[0].num_nodes, ds.num_classes, requires_grad=True)
    loss, count = task.loss(out, batches[0], 0.0)
    in_train = torch.isin(batches[0].n_id, ds.split["train"])
    assert count == int(in_train.sum()) and loss.item() == pytest.approx(
        torch.log(torch.tensor(float(ds.num_classes))).item()
    )
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2)
    result = task.evaluate(model, torch.device("cpu"), None)
    assert set(result.scores) == {"train", "valid", "test"} and result.valid_classes >= 1
    logits, valid = task.predict(model, torch.device("cpu"), None), ds.split["valid"]
    expected = torch.nn.functional.cross_entropy(logits[valid], ds.data.y[valid].view(-1))
    assert result.extra["valid_loss"] == pytest.approx(expected.item(), rel=1e-6)
    assert NodeTask.of(ds).full_batch and isinstance(NodeTask.of(ds).partitioner, type(None))
    assert NodeTask.of(task) is task
    full = NodeTask(ds)
    full.setup(torch.device("cpu"), 0)
    assert isinstance(full.partitioner, FullBatch) and full.train_batches(1)[0].num_nodes == 120


def test_bad_settings_and_bad_data_are_refused():
    ds = synthetic_dataset("arxiv", 120, 6.0, seed=0)
    with pytest.raises(ValueError, match="partition='kmeans' must be one of full, random"):
        NodeTask(ds, partition="kmeans")
    with pytest.raises(ValueError, match="num_parts=0, eval_parts=1 and eval_views=1 must be"):
        NodeTask(ds, num_parts=0)
    # More parts than nodes: refused before any model is built or epoch started.
    for partition in ("random", "metis"):
        with pytest.raises(ValueError, match=r"num_parts=121 must lie in \[1, num_nodes=120\]"):
            NodeTask(ds, partition=partition, num_parts=121)
    with pytest.raises(ValueError, match=r"eval_parts=500 must lie in \[1, num_nodes=120\]"):
        NodeTask(ds, eval_parts=500)
    assert NodeTask(ds, partition="full", num_parts=500).num_parts == 500  # unused: full graph
    ds.data.x[0, 0] = float("inf")
    with pytest.raises(ValueError, match="node features x contain 1 NaN/inf values"):
        NodeTask(ds)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_the_prior_loss_is_the_least_loss_of_a_prediction_shared_by_every_node(smoothing):
    ds = synthetic_dataset("arxiv", 120, 6.0, seed=0)
    task = NodeTask(ds)
    task.setup(torch.device("cpu"), 0)
    prior = task.prior_loss(smoothing)
    y = ds.data.y.view(-1)[ds.split["train"]]
    freq = torch.bincount(y, minlength=ds.num_classes).double() / y.numel()
    (batch,) = task.train_batches(1)

    def shared_loss(logits):  # one prediction for every node, through the task's own loss
        out = logits.float().expand(batch.num_nodes, -1)
        return task.loss(out, batch, smoothing)[0].item()

    target = (1 - smoothing) * freq + smoothing / ds.num_classes
    assert shared_loss(target.log()) == pytest.approx(prior, rel=1e-5)
    for seed in range(5):  # any other shared prediction does worse
        logits = torch.randn(ds.num_classes, generator=torch.Generator().manual_seed(seed))
        assert shared_loss(logits) > prior
    multilabel = synthetic_dataset("proteins", 60, 4.0, seed=0)
    assert NodeTask(multilabel).prior_loss() is None


def test_a_pyg_data_with_masks_trains_as_it_is():
    ds = synthetic_dataset("arxiv", 120, 6.0, seed=0)
    data = ds.data.clone()
    for part, name in (("train", "train_mask"), ("valid", "val_mask"), ("test", "test_mask")):
        data[name] = torch.zeros(ds.num_nodes, dtype=torch.bool).index_fill_(
            0, ds.split[part], True
        )
    task = NodeTask(data)
    assert task.name == "graph" and task.metric == "acc"
    assert all(torch.equal(task.dataset.split[k], ds.split[k].sort().values) for k in ds.split)
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2)
    result = train(model, data, TrainConfig(epochs=2, progress=False))
    assert result.dataset == "graph" and result.epochs_run == 2


def test_a_pyg_dataset_of_one_graph_is_its_graph_and_other_inputs_are_refused():
    from torch_geometric.data import InMemoryDataset
    from torch_geometric.datasets import FakeDataset

    ds = synthetic_dataset("arxiv", 120, 6.0, seed=0)
    data = ds.data.clone()
    data.train_mask = torch.zeros(ds.num_nodes, dtype=torch.bool).index_fill_(
        0, ds.split["train"], True
    )
    data.val_mask = torch.zeros(ds.num_nodes, dtype=torch.bool).index_fill_(
        0, ds.split["valid"], True
    )
    data.test_mask = torch.zeros(ds.num_nodes, dtype=torch.bool).index_fill_(
        0, ds.split["test"], True
    )

    class OneGraph(InMemoryDataset):  # what Planetoid(root, "Cora") is
        name = "One"

        def __init__(self):
            super().__init__()
            self.data, self.slices = self.collate([data])

    task = NodeTask(OneGraph())
    assert task.name == "One"
    assert all(torch.equal(task.dataset.split[k], ds.split[k].sort().values) for k in ds.split)
    with pytest.raises(ValueError, match="FakeDataset holds 3 graphs; a node task trains on one"):
        NodeTask(FakeDataset(num_graphs=3))
    with pytest.raises(TypeError, match=r"a node task takes a NodeDataset, .* got list"):
        NodeTask([data])
