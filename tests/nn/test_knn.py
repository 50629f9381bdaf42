import pytest
import torch

from revgnn.nn.knn import (
    DilatedKnnGraph,
    _knn_topk,
    dilate,
    dilated_knn,
    gather_neighbors,
    knn,
    knn_graph,
    neighbors_to_edge_index,
)


def brute_force(x, k, dilation):
    """Every point's k * d nearest by exact fp64 distances (self first), every d-th."""
    dist = torch.cdist(x.double(), x.double())
    n = x.size(1)
    dist[:, torch.arange(n), torch.arange(n)] = -1.0
    return dist.argsort(dim=-1)[..., : k * dilation][..., ::dilation]


@pytest.fixture
def points():
    return torch.randn(3, 50, 4, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("dilation", [1, 2, 3, 4])
def test_dilated_knn_equals_brute_force(points, dilation):
    got = dilated_knn(points, 5, dilation)
    assert torch.equal(got, brute_force(points, 5, dilation))
    assert torch.equal(got[..., 0], torch.arange(50).expand(3, 50))  # self kept, first


def test_chunked_equals_unchunked(points):
    assert torch.equal(knn(points, 12, chunk_size=7), knn(points, 12, chunk_size=1000))
    assert torch.equal(knn(points, 12, chunk_size=1), knn(points, 12))


def test_duplicate_points_still_put_self_first():
    x = torch.zeros(1, 6, 3)  # every distance is 0
    assert torch.equal(knn(x, 3)[..., 0], torch.arange(6).view(1, 6))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_other_precisions_use_fp32_distances(points, dtype):
    # float64 points failed ("The size of tensor a (100) must match the size of tensor b
    # (50)"): the keys read the distances' bits as fp32 words.
    assert torch.equal(knn(points.to(dtype), 6), knn(points.to(dtype).float(), 6))


def test_stochastic_dilation_is_one_seeded_draw_per_call(points):
    candidates = knn(points, 4 * 3)
    torch.manual_seed(5)
    got = [dilate(candidates, 4, 3, stochastic=True, epsilon=0.5) for _ in range(20)]
    # The same draws, by hand: one rand(1), and when it falls under epsilon one randperm.
    torch.manual_seed(5)
    for out in got:
        if float(torch.rand(1)) < 0.5:
            assert torch.equal(out, candidates[..., torch.randperm(12)[:4]])
        else:
            assert torch.equal(out, candidates[..., ::3])
    regular = sum(torch.equal(out, candidates[..., ::3]) for out in got)
    assert 0 < regular < 20  # both branches were taken
    torch.manual_seed(5)
    again = [dilate(candidates, 4, 3, stochastic=True, epsilon=0.5) for _ in range(20)]
    assert all(torch.equal(a, b) for a, b in zip(got, again))


def test_stochastic_dilation_applies_in_training_only(points):
    graph = DilatedKnnGraph(4, 3, stochastic=True, epsilon=0.999).eval()
    state = torch.get_rng_state()
    assert torch.equal(graph(points), dilated_knn(points, 4, 3))
    assert torch.equal(torch.get_rng_state(), state)  # evaluation draws nothing
    graph.train()
    assert not torch.equal(graph(points), dilated_knn(points, 4, 3))


def test_knn_graph_with_a_batch_vector_equals_the_dense_graphs():
    gen = torch.Generator().manual_seed(1)
    sizes = [20, 35, 12]
    clouds = [torch.randn(n, 3, generator=gen) for n in sizes]
    x, batch = torch.cat(clouds), torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    edge_index = knn_graph(x, 4, batch, dilation=2)
    assert edge_index.shape == (2, sum(sizes) * 4)
    start = 0
    for cloud, n in zip(clouds, sizes):
        want = brute_force(cloud.unsqueeze(0), 4, 2)[0] + start
        mask = (edge_index[1] >= start) & (edge_index[1] < start + n)
        assert torch.equal(edge_index[0, mask].view(n, 4), want)
        start += n


def test_neighbours_as_edge_index_and_gather(points):
    index = dilated_knn(points, 3)
    edge_index = neighbors_to_edge_index(index)
    flat = points.reshape(-1, 4)
    gathered = gather_neighbors(points, index)
    assert torch.equal(flat[edge_index[0]].view(3, 50, 3, 4), gathered)
    assert torch.equal(edge_index[1], torch.arange(150).repeat_interleave(3))


def test_errors_name_the_problem(points):
    with pytest.raises(ValueError, match=r"k \* dilation = 60 neighbours asked of clouds of 50"):
        dilated_knn(points, 20, 3)
    with pytest.raises(ValueError, match="batch must be sorted"):
        knn_graph(torch.randn(4, 3), 1, torch.tensor([1, 0, 0, 1]))
    with pytest.raises(ValueError, match="cloud 1 has 2 points, fewer than"):
        knn_graph(torch.randn(6, 3), 3, torch.tensor([0, 0, 0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"x must have shape \[batch, num_points, channels\]"):
        knn(torch.randn(5, 3), 2)
    with pytest.raises(ValueError, match="epsilon"):
        DilatedKnnGraph(epsilon=1.5)
    assert "k=9, dilation=2, stochastic=True" in repr(DilatedKnnGraph(9, 2, True))


def test_distances_stay_fp32_under_autocast():
    # bf16 distances recover about 73% of the true neighbours of S3DIS-like blocks.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 256, 9, generator=g) * 3 + 40  # large offsets, as colour + xyz
    exact = knn(x, 16)
    for dtype in (torch.bfloat16, torch.float16):
        with torch.autocast("cpu", dtype=dtype):
            assert torch.equal(knn(x, 16), exact)
            assert torch.equal(knn(x.to(dtype), 16), knn(x.to(dtype).float(), 16))


def _stable_reference(x, k):
    """argsort of the fp32 distances, stable (ties to the lower index), self first."""
    square = (x * x).sum(-1)
    dist = torch.baddbmm(square.unsqueeze(1), x, x.transpose(1, 2), alpha=-2.0)
    dist += square.unsqueeze(-1)
    n = x.size(1)
    dist[:, torch.arange(n), torch.arange(n)] = -float("inf")
    return dist.argsort(dim=-1, stable=True)[..., :k]


@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
def test_ties_go_to_the_lower_index_on_every_path(chunk):
    # Points on an integer grid: many equal distances, and negative rounding is impossible.
    gen = torch.Generator().manual_seed(3)
    x = torch.randint(0, 3, (2, 60, 3), generator=gen).float()
    want = _stable_reference(x, 25)
    assert torch.equal(knn(x, 25, chunk_size=chunk), want)
    square = (x * x).sum(-1)
    assert torch.equal(_knn_topk(x, square, 25, chunk or 60), want)  # the CUDA selection


def test_negative_rounded_distances_keep_their_order():
    # Near-duplicate points: |q|^2 - 2 q.x + |x|^2 rounds below zero for some pairs.
    base = torch.randn(1, 1, 8, generator=torch.Generator().manual_seed(4)) * 100
    x = base + 1e-4 * torch.randn(1, 40, 8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(knn(x, 40), _stable_reference(x, 40))


def test_threads_do_not_change_the_result():
    x = torch.randn(2, 700, 16, generator=torch.Generator().manual_seed(6))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = knn(x, 33, chunk_size=50)
        torch.set_num_threads(4)
        assert torch.equal(knn(x, 33, chunk_size=50), one)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, _stable_reference(x, 33))


def test_compiled_keys_give_the_eager_neighbours(compiled):
    from revgnn.nn.knn import _KEY_BITS

    # Ties (an integer grid) and negative rounded distances (near-duplicates), chunked.
    grid = torch.randint(0, 3, (2, 60, 3), generator=torch.Generator().manual_seed(3)).float()
    base = torch.randn(1, 1, 8, generator=torch.Generator().manual_seed(4)) * 100
    near = base + 1e-4 * torch.randn(1, 40, 8, generator=torch.Generator().manual_seed(5))
    for x, k in ((grid, 25), (near, 40)):
        for chunk in (None, 7):
            assert torch.equal(knn(x, k, chunk_size=chunk), _stable_reference(x, k))
    assert _KEY_BITS._compiled is not None and not _KEY_BITS.failed  # the compiled path ran
