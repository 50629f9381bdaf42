import pytest
import torch

from revgnn.nn.graph_tape import built_graph, compact_index, recording, replaying


def test_compact_index_takes_the_smallest_type_that_holds_the_bound():
    index = torch.tensor([0, 5, 32766])
    assert compact_index(index, 32767).dtype == torch.int16
    assert compact_index(index, 32768).dtype == torch.int16  # values up to 32767
    assert compact_index(index, 32769).dtype == torch.int32
    assert compact_index(index, 2**31 + 1).dtype == torch.int64
    assert torch.equal(compact_index(index, 40000).long(), index)


def test_outside_the_engine_every_call_builds():
    calls = []
    assert torch.equal(built_graph(lambda: calls.append(1) or torch.arange(3), 3), torch.arange(3))
    assert len(calls) == 1


def test_recorded_graphs_are_replayed_in_order_without_building():
    graphs = [torch.tensor([[1, 2]]), torch.tensor([[0, 0]])]
    with recording() as kept:
        for g in graphs:
            assert torch.equal(built_graph(lambda g=g: g, 3), g)
    assert [t.dtype for t in kept] == [torch.int16, torch.int16]

    def fail():
        raise AssertionError("a replayed graph was searched again")

    with replaying(kept):
        for g in graphs:
            out = built_graph(fail, 3)
            assert out.dtype == torch.long and torch.equal(out, g)


def test_a_recompute_that_builds_other_graphs_is_an_error():
    with recording() as kept:
        built_graph(lambda: torch.zeros(1, 2, dtype=torch.long), 2)

    def twice():
        with replaying(kept):
            built_graph(lambda: None, 2)
            built_graph(lambda: None, 2)

    with pytest.raises(RuntimeError, match="more graphs than its forward pass"):
        twice()
    with pytest.raises(RuntimeError, match="used 0 of the 1 graphs"), replaying(kept):
        pass
