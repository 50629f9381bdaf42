import torch

from revgnn.nn.recorded import Recorded


def test_pack_and_unpack_round_trip_every_field():
    kept = Recorded(
        seed=12345,
        graphs={1: [torch.arange(3), torch.arange(4)]},
        snapshots={28: torch.randn(2, 3)},
        inputs={5: torch.randn(2, 3), 9: torch.randn(2, 3)},
        grids={0: 2.0**-20, 28: 2.0**-12},
    )
    tensors, layout = kept.pack()
    assert len(tensors) == 2 + 1 + 2  # what save_for_backward receives
    back = Recorded.unpack(tensors, layout)
    assert back.seed == 12345 and back.grids == kept.grids and list(back.inputs) == [5, 9]
    for field in ("graphs", "snapshots", "inputs"):
        ours, theirs = getattr(kept, field), getattr(back, field)
        assert ours.keys() == theirs.keys()
        for key in ours:
            got = theirs[key] if field != "graphs" else torch.cat(theirs[key])
            want = ours[key] if field != "graphs" else torch.cat(ours[key])
            assert torch.equal(got, want)
