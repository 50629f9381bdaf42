import torch

from revgnn.utils import get_rng_state, rng_changed, set_rng_state


def test_a_recorded_state_replays_the_same_draws():
    cpu = torch.device("cpu")
    state = get_rng_state(cpu)
    assert not rng_changed(state, cpu)
    first = torch.rand(5)
    assert rng_changed(state, cpu)
    set_rng_state(cpu, state)
    assert torch.equal(torch.rand(5), first)
