import copy

import pytest
import torch

import revgnn.nn.knn as knn_module
from revgnn.memory.saved import saved_activation_bytes
from revgnn.nn.dynamic_block import DynamicBlock
from tests.helpers import deep_gcn


def clouds(batch=2, points=48, channels=6, seed=0):
    return torch.randn(batch, points, channels, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("task", "shape"),
    [("segmentation", (2, 48, 5)), ("part", (2, 48, 5)), ("classification", (2, 5))],
)
@pytest.mark.parametrize("backbone", ["plain", "res", "dense", "rev"])
def test_every_backbone_and_head(task, shape, backbone):
    model = deep_gcn(6, 5, task=task, num_blocks=4, channels=8, backbone=backbone, k=4, emb_dims=16)
    assert model(clouds()).shape == shape


def test_dilation_grows_with_depth_and_plain_has_none():
    res = deep_gcn(3, 2, num_blocks=6, channels=8, k=2, stochastic=True, max_dilation=4)
    assert [b.body.knn.dilation for b in res.backbone] == [1, 2, 3, 4, 4]
    assert all(b.body.knn.stochastic for b in res.backbone)
    plain = deep_gcn(3, 2, num_blocks=6, channels=8, k=2, backbone="plain", stochastic=True)
    assert {(b.body.knn.dilation, b.body.knn.stochastic) for b in plain.backbone} == {(1, False)}
    rev = deep_gcn(3, 2, num_blocks=4, channels=8, k=2, backbone="rev")
    assert [blk.convs[0].knn.dilation for blk in rev.backbone.blocks] == [1, 2, 3]


def test_the_head_graph_is_built_in_xyz():
    model = deep_gcn(6, 3, num_blocks=2, channels=8, k=4).eval()
    x = clouds()
    far = x.clone()
    far[..., 3:] *= 100  # features other than xyz must not change the head's graph
    graph = model.stem.knn(x[..., :3])
    assert torch.equal(graph, model.stem.knn(far[..., :3]))
    seen = {}

    def hook(module, args, out):
        seen["index"] = args[1]

    model.stem.register_forward_hook(hook)
    model(far)
    assert torch.equal(seen["index"], graph)


@pytest.mark.parametrize("knn_graphs", ["recompute", "keep"])
def test_reversible_dynamic_gradients_equal_the_non_reversible_run_at_28_layers(knn_graphs):
    torch.manual_seed(0)
    model = deep_gcn(
        6, 4, num_blocks=28, channels=16, backbone="rev", k=4, stochastic=True, epsilon=0.5,
        dropout=0.0, emb_dims=32, knn_graphs=knn_graphs,
    )  # fmt: skip
    plain = copy.deepcopy(model)
    plain.reversible = False
    x = clouds(points=128)

    def run(m):
        torch.manual_seed(3)  # the same stochastic-dilation draws in both runs
        out = m(x)
        grads = torch.autograd.grad(out.square().sum(), list(m.parameters()))
        return out, grads

    out, grads = run(model)
    ref_out, ref_grads = run(plain)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=0)
    for g, r in zip(grads, ref_grads):
        assert float((g - r).norm() / r.norm().clamp_min(1e-30)) <= 1e-5
    # stochastic dilation was drawn: without the seed the graphs and outputs differ
    torch.manual_seed(4)
    assert not torch.equal(model(x), out)


def test_saved_activations_of_a_151_layer_reversible_resgcn_equal_a_7_layer_ones():
    x = clouds(points=64)

    def saved(blocks, backbone):
        model = deep_gcn(6, 4, num_blocks=blocks, channels=16, backbone=backbone, k=4,
                        max_dilation=8, emb_dims=32)  # fmt: skip
        _, s = saved_activation_bytes(lambda: model(x), exclude=[model])
        return s.total

    shallow, deep = saved(7, "rev"), saved(151, "rev")
    assert deep <= 1.05 * shallow
    assert saved(28, "res") > 2 * saved(7, "res")  # the non-reversible one grows


def test_kept_graphs_halve_the_searches_and_cost_their_int16_indices(monkeypatch):
    x = clouds(points=64)  # 2 clouds
    blocks, k = 12, 4

    def run(knn_graphs):
        torch.manual_seed(0)
        model = deep_gcn(6, 4, num_blocks=blocks, channels=16, backbone="rev", k=k,
                         max_dilation=8, emb_dims=32, knn_graphs=knn_graphs)  # fmt: skip
        calls = []
        real = knn_module.knn
        monkeypatch.setattr(knn_module, "knn", lambda *a, **kw: calls.append(1) or real(*a, **kw))
        out, saved = saved_activation_bytes(lambda: model(x), exclude=[model])
        out.sum().backward()
        monkeypatch.setattr(knn_module, "knn", real)
        return len(calls), saved.total, [p.grad for p in model.parameters()]

    searches, recompute_bytes, grads = run("recompute")
    kept_searches, keep_bytes, kept_grads = run("keep")
    groups = 2 * (blocks - 1)
    assert searches == 1 + 2 * groups  # the stem, then every group forward and backward
    assert kept_searches == 1 + groups
    index_bytes = groups * x.size(0) * 64 * k * 2  # int16: clouds of 64 points
    assert keep_bytes - recompute_bytes == index_bytes
    for g, r in zip(kept_grads, grads):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-7)


def test_static_graph_for_node_tasks():
    model = deep_gcn(5, 3, task="node", num_blocks=3, channels=8, conv="mr", emb_dims=16)
    x, edge_index = torch.randn(10, 5), torch.randint(0, 10, (2, 30))
    assert model(x, edge_index).shape == (10, 3)
    rev = deep_gcn(5, 3, task="node", num_blocks=3, channels=8, conv="mr", backbone="rev")
    assert rev(x, edge_index).shape == (10, 3)


def test_dense_backbone_grows_by_the_growth():
    model = deep_gcn(3, 2, num_blocks=4, channels=8, backbone="dense", k=2)
    assert [b.out_channels for b in model.backbone] == [16, 24, 32]
    assert isinstance(model.backbone[0], DynamicBlock)
    assert model.prediction.fusion_dims == 8 + 16 + 24 + 32


def test_errors():
    with pytest.raises(ValueError, match="backbone='wide' must be one of plain, res, dense, rev"):
        deep_gcn(3, 2, backbone="wide")
    with pytest.raises(ValueError, match="num_groups=3 must divide channels=16"):
        deep_gcn(3, 2, channels=16, backbone="rev", num_groups=3)
    model = deep_gcn(3, 2, num_blocks=2, channels=8, k=2)
    with pytest.raises(ValueError, match="the model was built for in_channels=3"):
        model(torch.randn(1, 8, 4))
    with pytest.raises(ValueError, match=r"x must be point clouds \[batch, num_points"):
        model(torch.randn(8, 3))
    for bad in (float("nan"), float("inf")):
        clouds = torch.randn(2, 8, 3)
        clouds[1, 5, 2] = bad
        with pytest.raises(ValueError, match="x holds NaN or inf values: the model needs fin"):
            model(clouds)
    with pytest.raises(ValueError, match="is not reversible"):
        model.reversible = True
    assert "backbone='res', conv='edge', k=2" in repr(model)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_a_reversible_resgcn_cast_to_another_precision_trains(dtype):
    # Half precision: the reversible blocks took fp32 input; float64: the k-NN keys read the
    # distances' bits as fp32 words ("The size of tensor a (96) must match ... (48)").
    torch.manual_seed(0)
    model = deep_gcn(6, 5, num_blocks=3, channels=8, backbone="rev", k=4, emb_dims=16, dropout=0.0)
    model = model.to(dtype).train()
    plain = copy.deepcopy(model)
    plain.reversible = False
    x = clouds().to(dtype)

    def run(m):
        out = m(x)
        return out, torch.autograd.grad(out.float().sin().sum(), list(m.parameters()))

    out, grads = run(model)
    ref_out, ref_grads = run(plain)
    assert out.dtype == dtype and torch.equal(out, ref_out)
    # The reversible run is the plain one: to the last bit or, in half precision, within one
    # rounding of the dtype (gradients summed in another order).
    eps = torch.finfo(dtype).eps if dtype != torch.float64 else 1e-12
    for g, r in zip(grads, ref_grads, strict=True):
        assert g.dtype == dtype and torch.isfinite(g).all()
        assert float((g.float() - r.float()).norm() / r.float().norm().clamp_min(1e-30)) <= eps
