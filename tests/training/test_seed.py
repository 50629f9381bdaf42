import random

import numpy as np
import torch

from revgnn.training.seed import get_global_rng_state, seed_everything, set_global_rng_state


def test_the_saved_state_replays_every_generator(tmp_path):
    seed_everything(3)
    state = get_global_rng_state()
    draws = (random.random(), np.random.rand(), torch.rand(2))  # noqa: NPY002
    set_global_rng_state(state)
    again = (random.random(), np.random.rand(), torch.rand(2))  # noqa: NPY002
    assert draws[:2] == again[:2] and torch.equal(draws[2], again[2])
    # It holds only tensors and plain data: a checkpoint reads it back with weights_only.
    torch.save(state, tmp_path / "rng.pt")
    set_global_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert random.random() == draws[0]
