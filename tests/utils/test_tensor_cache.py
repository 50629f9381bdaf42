import gc

import pytest
import torch

import revgnn.utils.tensor_cache as tensor_cache
from revgnn.utils.tensor_cache import per_tensor, tensor_key


def test_tensor_key_follows_the_contents():
    x = torch.zeros(4, 3)
    first = tensor_key(x)
    assert tensor_key(x) == first
    assert tensor_key(x[1:]) != first and tensor_key(x.t()) != first  # other views
    assert tensor_key(x.double()) != first
    x[0, 0] = 1.0  # an in-place change bumps the version
    assert tensor_key(x) != first
    adj = torch.eye(3).to_sparse_csr()  # a sparse tensor is its own owner
    first = tensor_key(adj)
    assert tensor_key(adj) == first
    adj.values().mul_(2.0)  # its values changed in place
    assert tensor_key(adj) != first


def _counting_build(calls: list, value):
    def build():
        calls.append(1)
        return value

    return build


def test_a_value_is_built_once_per_tensor_version_and_key():
    x = torch.arange(6.0).view(2, 3)
    calls: list = []
    first = per_tensor(x, ("sum",), _counting_build(calls, object()))
    assert per_tensor(x, ("sum",), _counting_build(calls, object())) is first
    assert len(calls) == 1
    per_tensor(x, ("other",), _counting_build(calls, object()))  # another kind of value
    per_tensor(x[1:], ("sum",), _counting_build(calls, object()))  # another view
    assert len(calls) == 3
    x.add_(1.0)  # modified in place: built again
    assert per_tensor(x, ("sum",), _counting_build(calls, object())) is not first
    assert len(calls) == 4


def test_an_entry_dies_with_its_tensor_and_keeps_it_not_alive():
    before = len(tensor_cache._CACHE)
    x = torch.ones(3)
    base = torch.ones(4, 2)
    per_tensor(x, ("a",), lambda: 1)
    per_tensor(base[1:], ("a",), lambda: 0)  # a view: the entry lives as long as its base
    assert len(tensor_cache._CACHE) == before + 2
    del x
    gc.collect()
    assert len(tensor_cache._CACHE) == before + 1
    del base
    gc.collect()
    assert len(tensor_cache._CACHE) == before


def test_inference_tensors_and_failures_are_not_cached():
    calls: list = []
    with torch.inference_mode():
        frozen = torch.ones(3)
    for _ in range(3):
        per_tensor(frozen, ("a",), _counting_build(calls, 1))
    assert len(calls) == 3  # no version counter to key on: built every time

    x = torch.ones(3)

    def fail():
        calls.append(1)
        raise ValueError("bad graph")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad graph"):
            per_tensor(x, ("check",), fail)
    assert len(calls) == 5  # a failed build is tried again, not remembered


def test_what_inference_mode_builds_is_not_kept_but_a_kept_value_serves_it():
    x = torch.ones(3)
    calls: list = []

    def build():
        calls.append(1)
        return torch.zeros(2)

    with torch.inference_mode():
        built = per_tensor(x, ("inference",), build)
    assert built.is_inference() and len(calls) == 1
    kept = per_tensor(x, ("inference",), build)  # built again, outside: a normal tensor
    assert not kept.is_inference() and len(calls) == 2
    with torch.inference_mode():
        assert per_tensor(x, ("inference",), build) is kept
        assert per_tensor(x, ("a check",), lambda: True) is True  # no tensor: kept
    assert len(calls) == 2
    assert per_tensor(x, ("a check",), build) is True


def test_a_build_that_bumps_the_version_is_not_kept():
    # Its key would be stale at once: every call would add an entry while the tensor lives.
    x = torch.ones(3)
    before = len(tensor_cache._CACHE)

    def build():
        x.add_(0.0)  # an in-place op, as PyG's to_edge_index marks a COO tensor coalesced
        return torch.zeros(1)

    for _ in range(3):
        per_tensor(x, ("bumps",), build)
    assert len(tensor_cache._CACHE) == before
