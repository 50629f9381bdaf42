import gc

import pytest
import torch

from revgnn.nn.aggr import segments as seg_module
from revgnn.nn.aggr.segments import segments, set_sorted_segments, sorted_segments_enabled


def _graph(n=20, e=90, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(n, (2, e), generator=g)


def test_sorted_sums_equal_the_scatter_over_the_given_order():
    edge_index = _graph()
    src, dst = edge_index
    seg = segments(dst, 20, src)
    assert seg.perm is not None and bool((seg.dst[1:] >= seg.dst[:-1]).all())
    assert torch.equal(seg.src, src[seg.perm]) and torch.equal(
        seg.counts, torch.bincount(dst, minlength=20)
    )
    values = torch.randn(90, 5, dtype=torch.float64)
    expected = torch.zeros(20, 5, dtype=torch.float64).index_add_(0, dst, values)
    assert torch.allclose(seg.segment_sum(values[seg.perm], seg.dst), expected)
    summer = seg.summer(torch.float64)  # MKL's index type: no conversion in every product
    assert summer.crow_indices().dtype == summer.col_indices().dtype == torch.int32
    ints = torch.randint(5, (90, 3))  # not a CSR dtype: the index_add_ path
    assert torch.equal(
        seg.segment_sum(ints[seg.perm], seg.dst),
        torch.zeros(20, 3, dtype=torch.long).index_add_(0, dst, ints),
    )
    assert torch.equal(seg.sorted_edge_index(edge_index), torch.stack([seg.src, seg.dst]))
    assert seg.sorted_edge_index(edge_index) is seg.sorted_edge_index(edge_index)


def test_an_already_sorted_index_keeps_its_order_and_stores_no_copy():
    dst = torch.tensor([0, 0, 1, 3, 3, 3])
    seg = segments(dst, 5, torch.tensor([1, 2, 0, 0, 1, 2]))
    assert seg.perm is None and seg.src is None and seg.dst is None
    assert seg.ptr.tolist() == [0, 2, 3, 3, 6, 6]


def test_the_same_index_hits_the_cache_and_an_in_place_change_sorts_again():
    edge_index = _graph(seed=1)
    a = segments(edge_index[1], 20, edge_index[0])
    assert segments(edge_index[1], 20, edge_index[0]) is a
    assert segments(edge_index[1], 21, edge_index[0]) is not a
    edge_index[1, 0] = (int(edge_index[1, 0]) + 1) % 20
    b = segments(edge_index[1], 20, edge_index[0])
    assert b is not a and torch.equal(b.counts, torch.bincount(edge_index[1], minlength=20))


def test_an_entry_is_dropped_when_its_index_is_freed():
    before = len(seg_module._CACHE)
    edge_index = _graph(seed=2)
    segments(edge_index[1], 20, edge_index[0])
    assert len(seg_module._CACHE) == before + 1
    del edge_index
    gc.collect()
    assert len(seg_module._CACHE) == before


def test_targets_outside_the_graph_are_an_error():
    with pytest.raises(ValueError, match=r"target nodes must lie in \[0, 4\), got \[0, 7\]"):
        segments(torch.tensor([0, 7]), 4)


def test_the_switch_restores_the_unsorted_path_and_clears_the_cache():
    assert sorted_segments_enabled()
    edge_index = _graph(seed=3)
    segments(edge_index[1], 20, edge_index[0])
    try:
        set_sorted_segments(False)
        assert not sorted_segments_enabled() and not seg_module._CACHE
    finally:
        set_sorted_segments(True)
    assert sorted_segments_enabled()


def test_an_int32_index_is_sorted_once_across_calls():
    from revgnn.nn.aggr import SoftmaxAggregation

    index = torch.randint(0, 20, (90,), generator=torch.Generator().manual_seed(5)).int()
    aggr = SoftmaxAggregation(lean=True)
    before = len(seg_module._CACHE)
    m = torch.rand(90, 3)
    outs = [aggr(m, index, dim_size=20) for _ in range(3)]
    assert len(seg_module._CACHE) == before + 1, "one entry for the int32 index, reused"
    ref = SoftmaxAggregation(lean=False)(m, index.long(), dim_size=20)
    for out in outs:
        assert torch.allclose(out, ref, atol=1e-6)


def test_segments_run_as_written_inside_a_compiled_function():
    torch._dynamo.reset()
    dst = torch.tensor([2, 0, 1, 0])
    f = torch.compile(lambda d: segments(d, 3).ptr + 0, backend="eager")
    assert f(dst).tolist() == [0, 2, 3, 4] and f(dst.clone()).tolist() == [0, 2, 3, 4]


def test_inference_tensors_and_inference_mode_leave_nothing_in_the_cache():
    # An inference tensor has no version counter to key on; what inference mode builds could
    # not enter a later training step's autograd graph. Both are built for their call only.
    before = len(seg_module._CACHE)
    with torch.inference_mode():
        frozen = _graph(seed=6)
        seg = segments(frozen[1], 20, frozen[0])
        assert seg.sorted_edge_index(frozen).is_inference()
    assert len(seg_module._CACHE) == before
    edge_index = _graph(seed=7)
    with torch.inference_mode():  # a graph of the training step, evaluated first
        seg = segments(edge_index[1], 20, edge_index[0])
        assert seg.sorted_edge_index(edge_index).is_inference()
    assert len(seg_module._CACHE) == before
    kept = segments(edge_index[1], 20, edge_index[0])
    assert len(seg_module._CACHE) == before + 1
    with torch.inference_mode():  # a normal entry serves inference mode too
        assert segments(edge_index[1], 20, edge_index[0]) is kept
        sorted_inside = kept.sorted_edge_index(edge_index)
        summer_inside = kept.summer(torch.float32)
    assert sorted_inside.is_inference() and summer_inside.is_inference()  # not kept
    assert not kept.sorted_edge_index(edge_index).is_inference()
    assert not kept.summer(torch.float32).is_inference()
