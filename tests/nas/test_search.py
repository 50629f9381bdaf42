import pytest
import torch

from revgnn.config import RunConfig, SearchConfig, TrainConfig, load_recipe
from revgnn.datasets import load_dataset
from revgnn.nas.latency import LatencyTable
from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search import darts_selection, decide, search, split_for_search
from revgnn.nas.search_network import SearchNetwork
from revgnn.training.callback import Callback
from revgnn.training.node_task import NodeTask
from revgnn.training.point_cloud_task import PointCloudTask

FAST = {"warmup": 1, "decision_every": 1}


def _clouds():
    return load_dataset("synthetic-textures", num_clouds=40, num_points=32)


def _cfg(**run):
    """The SGAS recipe's weight optimisation, quiet."""
    return TrainConfig.of(load_recipe("search/sgas").optim, RunConfig(progress=False, **run))


def _tasks(ds, batch=8):
    w, a = split_for_search(ds)
    return PointCloudTask(w, batch), PointCloudTask(a, batch)


def test_the_search_halves_are_disjoint_and_never_touch_valid_or_test():
    ds = _clouds()
    w, a = split_for_search(ds)
    train = set(ds.split["train"].tolist())
    wt, at = set(w.split["train"].tolist()), set(a.split["train"].tolist())
    assert wt | at == train and not wt & at and abs(len(wt) - len(at)) <= 1
    for part in ("valid", "test"):
        assert not set(a.split[part].tolist()) - at
        assert torch.equal(w.split[part], ds.split[part])


def test_a_decision_freezes_its_operation_and_prunes_the_nodes_other_edges():
    net = SearchNetwork(3, 4, channels=4, num_cells=1, emb_dims=8)
    with torch.no_grad():
        net.alpha.zero_()
        net.alpha[6, PRIMITIVES.index("point_gin")] = 3.0  # edge 6: s1 -> node 2, confident
        net.alpha[8, PRIMITIVES.index("point_sage")] = 2.0  # edge 8: n3 -> node 2
    d = decide(net, 1, [], epoch=4)
    assert (d["edge"], d["op"], d["node"], d["source"], d["epoch"]) == (6, "point_gin", 2, 1, 4)
    assert int(net.selected[6]) == PRIMITIVES.index("point_gin") and d["pruned"] == []
    weights = net.edge_weights()
    with torch.no_grad():
        net.alpha[6].normal_()  # a decided edge's alpha no longer matters
    assert torch.equal(net.edge_weights()[6], weights[6])
    d = decide(net, 1, [], epoch=5)
    assert d["edge"] == 8 and d["op"] == "point_sage" and d["pruned"] == [5, 7]
    assert net.selected.tolist()[5:] == [
        0,
        PRIMITIVES.index("point_gin"),
        0,
        PRIMITIVES.index("point_sage"),
    ]
    assert torch.equal(net.edge_weights()[5], torch.zeros(len(PRIMITIVES)))


def test_darts_keeps_the_two_strongest_edges_per_node():
    alpha = torch.zeros(9, len(PRIMITIVES))
    alpha[5, 2], alpha[7, 3], alpha[8, 1] = 1.0, 3.0, 2.0
    sel = darts_selection(alpha).tolist()
    assert sel[5:] == [0, 0, 3, 1] and all(s > 0 for s in sel[:2])
    assert sum(s > 0 for s in sel[2:5]) == 2


def test_an_sgas_search_on_the_synthetic_clouds_decides_all_edges_in_schedule(capsys):
    torch.manual_seed(0)
    ds = _clouds()
    net = SearchNetwork(3, ds.num_classes, channels=4, num_cells=2, k=4, emb_dims=8)
    result = search(net, *_tasks(ds), SearchConfig(criterion=2, **FAST), _cfg())
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("epoch ")]
    assert [d["epoch"] for d in result.decisions] == [1, 2, 3, 4, 5, 6]
    assert len(result.history) == 6 and sum(len(d["pruned"]) for d in result.decisions) == 3
    assert int((net.selected > 0).sum()) == 6 and not bool((net.selected < 0).any())
    assert torch.equal(result.genotype.selection(), net.selected)
    assert all(len(edges) == 2 for edges in result.genotype.nodes)
    assert 0 <= result.score <= 1 and len(lines) == 6 and " = " in lines[0]


def test_the_batch_grows_after_each_decision_and_is_restored():
    ds = _clouds()
    net = SearchNetwork(3, ds.num_classes, channels=4, num_cells=1, k=4, emb_dims=8)
    wt, at = _tasks(ds, batch=4)
    sizes = []
    original = wt.train_batches

    def spy(epoch, **kw):
        batches = original(epoch, **kw)
        sizes.append(batches[0].x.size(0))
        return batches

    wt.train_batches = spy
    search(net, wt, at, SearchConfig(batch_increase=2, **FAST), _cfg())
    assert sizes == [4, 6, 8, 10, 12, 14] and wt.batch_size == 4 == at.batch_size


def test_a_darts_search_on_a_real_graph_runs_its_epochs_and_argmaxes_at_the_end():
    torch.manual_seed(0)
    cora = load_dataset("cora")
    w, a = split_for_search(cora)
    net = SearchNetwork(
        cora.data.x.size(1), cora.num_classes, channels=4, num_cells=1, task="nodes"
    )
    result = search(
        net,
        NodeTask(w, "random", 2),
        NodeTask(a, "random", 2),
        SearchConfig(method="darts", darts_epochs=2),
        _cfg(),
    )
    assert len(result.history) == 2 and result.decisions == []
    assert torch.equal(net.selected, darts_selection(net.alpha))
    assert result.genotype.meta["method"] == "darts" and 0 < result.score <= 1


def test_the_latency_constraint_pushes_the_expected_latency_down():
    ds = _clouds()
    table = LatencyTable({n: float(i) for i, n in enumerate(PRIMITIVES)}, 0.0, 2, "cpu")
    final = {}
    for target in (None, 1.0):
        torch.manual_seed(0)
        net = SearchNetwork(3, ds.num_classes, channels=4, num_cells=2, k=4, emb_dims=8)
        cfg = SearchConfig(
            method="darts", darts_epochs=2, arch_lr=0.5, latency_target=target,
            latency_weight=10.0,
        )  # fmt: skip
        result = search(net, *_tasks(ds), cfg, _cfg(), latency=table)
        final[target] = result.history[-1]["expected_latency_ms"]
    assert final[1.0] < 0.8 * final[None]


def test_bad_settings_are_errors_naming_the_setting():
    with pytest.raises(ValueError, match="method='enas' must be one of sgas, darts"):
        SearchConfig(method="enas")
    with pytest.raises(ValueError, match="darts_epochs=5 is DARTS' budget"):
        SearchConfig(darts_epochs=5)
    with pytest.raises(ValueError, match="latency_target=-1 must be > 0"):
        SearchConfig(latency_target=-1)
    ds = _clouds()
    net = SearchNetwork(3, ds.num_classes, channels=4, num_cells=1, k=4, emb_dims=8)
    with pytest.raises(ValueError, match="latency_target= needs a measured LatencyTable"):
        search(net, *_tasks(ds), SearchConfig(latency_target=1.0, **FAST), _cfg())
    net.selected.fill_(0)
    with pytest.raises(ValueError, match="every edge is already decided"):
        decide(net, 1, [], 1)


class Kill(Callback):
    """Dies at the start of epoch ``at``, after the checkpoint of the epoch before."""

    def __init__(self, at):
        self.at = at

    def on_epoch_start(self, loop, epoch):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_a_search_killed_after_a_decision_resumes_to_the_same_genotype(tmp_path):
    ds = _clouds()

    def run(resume=False, callbacks=()):
        torch.manual_seed(0)
        net = SearchNetwork(3, ds.num_classes, channels=4, num_cells=1, k=4, emb_dims=8)
        cfg = _cfg(checkpoint=str(tmp_path / "s.pt"), checkpoint_every=1, resume=resume,
                   overwrite=True)  # fmt: skip
        return search(net, *_tasks(ds), SearchConfig(**FAST), cfg, callbacks=list(callbacks))

    full = run()
    with pytest.raises(KeyboardInterrupt):
        run(callbacks=[Kill(4)])  # three edges decided, three to go
    resumed = run(resume=True)
    assert [r["epoch"] for r in resumed.history] == [4, 5, 6]  # it did resume
    assert resumed.genotype == full.genotype
    assert [d["epoch"] for d in resumed.decisions] == [1, 2, 3, 4, 5, 6]
    assert [(d["edge"], d["op"]) for d in resumed.decisions] == [
        (d["edge"], d["op"]) for d in full.decisions
    ]
