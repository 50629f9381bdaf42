import weakref

import pytest
import torch

from revgnn.training.lazy_batches import LazyBatches, collated


def test_batches_are_built_when_read_and_not_kept():
    built = []

    def build(k):
        built.append(k)
        return torch.full((1000,), float(k))

    batches = LazyBatches(5, build)
    assert built == [] and len(batches) == 5
    assert repr(batches) == "LazyBatches(5 batches, built when read)"
    first = batches[0]
    kept = weakref.ref(first)
    del first
    assert kept() is None, "a read batch outlived its reader"
    assert [int(b[0]) for b in batches] == [0, 1, 2, 3, 4] and built == [0, 0, 1, 2, 3, 4]
    # Slices (as shard_batches and the memory monitor take them) stay unbuilt and compose.
    shard = batches[1::2]
    assert isinstance(shard, LazyBatches) and len(shard) == 2 and len(built) == 6
    assert [int(b[0]) for b in shard] == [1, 3] and int(shard[-1][0]) == 3
    assert [int(b[0]) for b in batches[3:][1:]] == [4] and len(batches[5:]) == 0
    assert int(batches[-1][0]) == 4
    with pytest.raises(IndexError):
        batches[5]
    with pytest.raises(ValueError, match="count=-1 must be at least 0"):
        LazyBatches(-1, build)


def test_collated_batches_gather_their_group_of_items_when_read():
    read = []

    class Items(list):
        def __getitem__(self, i):
            read.append(i)
            return super().__getitem__(i)

    batches = collated(Items([10, 20, 30, 40]), [[3, 0], [1], [2, 1]], sum)
    assert read == [] and len(batches) == 3
    assert [batches[2], batches[0], batches[1]] == [50, 50, 20] and read == [2, 1, 3, 0, 1]


def test_plans_say_what_a_batch_is_made_of_without_building_it():
    built = []
    batches = collated([10, 20, 30, 40], [[3, 0], [1], [2, 1]], lambda xs: built.append(xs))
    assert batches.planned and batches.plan(0) == [3, 0] and batches[1:].plan(1) == [2, 1]
    assert built == []
    unplanned = LazyBatches(2, built.append)
    assert not unplanned.planned
    with pytest.raises(ValueError, match="these batches have no plan: build them"):
        unplanned.plan(0)
