import torch
from torch import nn

from revgnn.memory import (
    SavedTensorCounter,
    ctx_attribute_storages,
    saved_activation_bytes,
)


def test_saved_tensors_are_deduplicated_by_storage():
    x = torch.randn(1000, 16, requires_grad=True)
    with SavedTensorCounter() as counter:
        y = x.sin()  # saves x
        z = x.cos()  # saves x again: same storage
        w = x.view(16, 1000).exp()  # saves its output: a new storage of the same size
    assert counter.num_saved == 3
    assert counter.bytes == 2 * 1000 * 16 * 4
    del y, z, w


def test_storages_are_counted_at_the_size_they_have_when_read():
    x = torch.randn(1000, 16, requires_grad=True)
    with SavedTensorCounter() as counter:
        y = x.exp()  # saves its output
        z = x.sin()  # saves x
    assert counter.bytes == 2 * 1000 * 16 * 4
    y.untyped_storage().resize_(0)  # freed, as a reversible block's stream the next one took over
    assert counter.bytes == 1000 * 16 * 4
    assert sorted(counter.storages.values()) == [0, 1000 * 16 * 4]
    del z


def test_parameters_and_buffers_are_excluded():
    lin = nn.Linear(64, 64)
    x = torch.randn(500, 64)
    _, saved = saved_activation_bytes(lambda: lin(x).relu(), exclude=[lin])
    # The input of the Linear and the ReLU output; the weight is excluded.
    assert saved.total == 2 * 500 * 64 * 4


class _KeepsAttribute(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.kept = x.clone()  # invisible to saved_tensors_hooks, like PyG's InvertibleFunction
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_tensors_kept_on_the_autograd_context_are_counted():
    x = torch.randn(300, 10, requires_grad=True)
    out, saved = saved_activation_bytes(lambda: _KeepsAttribute.apply(x))
    assert saved.by_hooks == 0
    assert saved.by_ctx_attributes == 300 * 10 * 4
    assert saved.total == saved.by_ctx_attributes
    assert len(ctx_attribute_storages(out)) == 1
