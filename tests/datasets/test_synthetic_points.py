import math

import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.synthetic_points import TEXTURES, _texture, synthetic_point_clouds


def test_reproducible_and_shaped():
    x, y = synthetic_point_clouds("classification", 20, 64, seed=2)
    x2, y2 = synthetic_point_clouds("classification", 20, 64, seed=2)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert x.shape == (20, 64, 3) and y.shape == (20,) and int(y.max()) < len(TEXTURES)
    _, parts_y = synthetic_point_clouds("parts", 20, 64)
    assert parts_y.shape == (20, 64)
    assert float((parts_y != parts_y[:, :1]).float().mean()) > 0.1  # clouds mix textures


def test_both_frequencies_of_a_pattern_have_the_same_radius_distribution():
    # What makes the set hard for per-point models: z is uniform on the sphere.
    gen = torch.Generator().manual_seed(0)
    u = torch.nn.functional.normalize(torch.randn(1, 200_000, 3, generator=gen), dim=-1)
    for low, high in ((1, 2), (3, 4)):
        a = _texture(u, torch.full((1, 200_000), low), gen).sort().values
        b = _texture(u, torch.full((1, 200_000), high), gen).sort().values
        q = torch.linspace(0, 199_999, 11).long()
        assert float((a[0, q] - b[0, q]).abs().max()) < 0.02
    assert not math.isclose(float(a.std()), 0.0)


def test_dataset_and_its_split():
    ds = load_dataset("synthetic-texture-parts", num_clouds=30, num_points=32)
    assert ds.task == "segmentation"
    assert [len(ds.split[k]) for k in ("train", "valid", "test")] == [24, 3, 3]
    with pytest.raises(ValueError, match="num_clouds=5 must be at least 10"):
        load_dataset("synthetic-textures", num_clouds=5)
