import torch

from revgnn.datasets import load_dataset
from tests.datasets.node_fakes import N


def test_random_split_is_seeded(root):
    a = load_dataset("photo", root, split_seed=0)
    b = load_dataset("photo", root, split_seed=0)
    c = load_dataset("photo", root, split_seed=1)
    assert torch.equal(a.split["train"], b.split["train"])
    assert not torch.equal(a.split["train"], c.split["train"])
    assert "seed=1" in c.split_info
    parts = torch.cat([a.split[k] for k in ("train", "valid", "test")])
    assert torch.equal(parts.sort().values, torch.arange(N))
