import torch

from revgnn.utils import (
    SeededCalls,
    derive_seed,
    draw_seed,
    get_rng_state,
    rng_changed,
    seed_generators,
    set_rng_state,
)


def test_a_recorded_state_replays_the_same_draws():
    cpu = torch.device("cpu")
    state = get_rng_state(cpu)
    assert not rng_changed(state, cpu)
    first = torch.rand(5)
    assert rng_changed(state, cpu)
    set_rng_state(cpu, state)
    assert torch.equal(torch.rand(5), first)


def test_seeds_are_fixed_by_the_global_seed_and_replay_the_same_draws():
    torch.manual_seed(3)
    base = draw_seed()
    torch.manual_seed(3)
    assert draw_seed() == base and draw_seed() != base
    assert 0 < base < 1 << 63
    seeds = {derive_seed(base, i) for i in range(10_000)}
    assert len(seeds) == 10_000 and all(0 <= s < 1 << 63 for s in seeds)
    assert derive_seed(base, 0) != derive_seed(base + 2, 0)
    cpu = torch.device("cpu")
    seed_generators(cpu, derive_seed(base, 7))
    first = torch.rand(5)
    torch.rand(3)
    seed_generators(cpu, derive_seed(base, 7))
    assert torch.equal(torch.rand(5), first)
    seed_generators(cpu, derive_seed(base, 8))
    assert not torch.equal(torch.rand(5), first)


def test_seeded_calls_leave_the_generator_alone_unless_a_call_draws():
    cpu = torch.device("cpu")
    torch.manual_seed(0)
    untouched = torch.get_rng_state()
    calls = SeededCalls(cpu)
    for key in range(3):
        calls.exit(calls.enter(key))  # calls that draw nothing
    calls.close()
    assert calls.seed is None and torch.equal(torch.get_rng_state(), untouched)

    calls = SeededCalls(cpu)
    fresh = calls.enter(0)
    calls.exit(fresh)
    fresh = calls.enter(1)
    drawn = torch.rand(4)
    calls.exit(fresh)
    calls.close()
    after = torch.get_rng_state()
    assert calls.drew and calls.seed is not None
    torch.manual_seed(0)
    assert draw_seed() == calls.seed  # the generator moved on by the seed's draw only
    assert torch.equal(torch.get_rng_state(), after)
    seed_generators(cpu, derive_seed(calls.seed, 1))
    assert torch.equal(torch.rand(4), drawn)  # call 1 replays from the seed and its key
