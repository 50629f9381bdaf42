import signal
import sys

import pytest

from revgnn.datasets import synthetic_dataset
from revgnn.training import Callback, TrainConfig, TrainingInterrupted, seed_everything, train
from tests.helpers import rev_gnn


class CtrlC(Callback):
    """Presses Ctrl-C in the middle of ``epoch`` (after its first batch's step is taken)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def wrap_steps(self, loop, epoch, run, batches):
        if epoch == self.epoch:
            run(batches[:1])
            raise KeyboardInterrupt
        return run(batches)


@pytest.fixture(autouse=True)
def interactive_signal_handlers():
    """The handlers Python starts with in a terminal, for the signals these tests send: a
    child of a background job (``cmd &`` in a script, as some CI runners start the suite)
    inherits an ignored SIGINT, which the latch rightly leaves alone."""
    wanted = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    previous = {s: signal.signal(s, h) for s, h in wanted.items()}
    yield
    for s, h in previous.items():
        signal.signal(s, h)


@pytest.fixture(scope="module")
def tiny():
    return synthetic_dataset("arxiv", 200, 6.0, seed=0)


def fit(ds, callbacks=(), **settings):
    seed_everything(3)
    model = rev_gnn(ds.num_features, 16, ds.num_classes, 2, norm="layer", dropout=0.2)
    cfg = TrainConfig(epochs=9, lr=0.01, seed=3, progress=False, **settings)
    return model, train(model, ds, cfg, callbacks)


def test_ctrl_c_names_the_checkpoint_and_resuming_ends_as_an_uninterrupted_run(tiny, tmp_path):
    _, full = fit(tiny)
    ckpt = str(tmp_path / "run.ckpt")
    with pytest.raises(TrainingInterrupted) as info:
        fit(tiny, [CtrlC(7)], checkpoint=ckpt, checkpoint_every=3)
    e = info.value
    assert isinstance(e, KeyboardInterrupt)
    assert (e.epoch, e.checkpoint, e.checkpoint_epoch) == (7, ckpt, 6)
    assert str(e).startswith("interrupted in epoch 7 (best valid acc ")
    assert str(e).endswith(
        f"{ckpt} holds epoch 6: add --resume to the same command (resume=True "
        "in Python) to continue from it"
    )

    # The half-trained epoch 7 is not in the checkpoint: resuming retrains it.
    _, resumed = fit(tiny, checkpoint=ckpt, checkpoint_every=3, resume=True)
    assert resumed.resumed_from == 6
    for key in ("best_epoch", "valid_metric", "test_metric", "final_loss"):
        assert getattr(resumed, key) == getattr(full, key), key


def test_ctrl_c_without_a_checkpoint_or_before_the_first_says_so(tiny, tmp_path):
    with pytest.raises(
        TrainingInterrupted,
        match=r"interrupted in epoch 2 .*no checkpoint was "
        "kept: pass --checkpoint FILE to be able to resume a run",
    ) as info:
        fit(tiny, [CtrlC(2)])
    assert (info.value.checkpoint, info.value.checkpoint_epoch) == (None, None)

    ckpt = str(tmp_path / "late.ckpt")
    with pytest.raises(
        TrainingInterrupted,
        match="interrupted in epoch 1; .*late.ckpt holds no "
        r"epoch of this run yet \(written every 5 epochs\)",
    ):
        fit(tiny, [CtrlC(1)], checkpoint=ckpt, checkpoint_every=5)


class SwallowedCtrlC(Callback):
    """Ctrl-C arrives while Python runs a ``__del__`` in the first batch of ``epoch``, where its
    ``KeyboardInterrupt`` is printed as "Exception ignored" and lost (as inside
    ``torch.compile``'s weakref callbacks)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def wrap_steps(self, loop, epoch, run, batches):
        if epoch == self.epoch:

            class Finalised:
                def __del__(self):
                    signal.raise_signal(signal.SIGINT)

            Finalised()
        return run(batches)


def test_a_ctrl_c_python_swallowed_still_stops_the_run_without_its_traceback(tiny, monkeypatch):
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted, match="interrupted in epoch 4 "):
        fit(tiny, [SwallowedCtrlC(4)])
    assert reported == []
    assert signal.getsignal(signal.SIGINT) is previous
    assert sys.unraisablehook == reported.append


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_handler_of_the_users_own_is_left_alone(tiny, signum):
    received = []

    def handler(*_):
        received.append(1)

    sent = SwallowedCtrlC(4) if signum == signal.SIGINT else Signalled(4, signum)
    previous = signal.signal(signum, handler)
    try:
        _, result = fit(tiny, [sent])
        assert received == [1] and result.epochs_run == 9
        assert signal.getsignal(signum) is handler
    finally:
        signal.signal(signum, previous)


def test_an_ignored_ctrl_c_stays_ignored(tiny):
    # A background job's SIGINT disposition: the run neither stops nor takes it over.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _, result = fit(tiny, [SwallowedCtrlC(4)])
    assert result.epochs_run == 9 and result.stopped == ""
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_ctrl_c_during_a_checkpoint_write_keeps_the_new_checkpoint(tiny, tmp_path, monkeypatch):
    from revgnn.training import checkpointer
    from revgnn.training.checkpoint import load_checkpoint

    write = checkpointer.save_checkpoint

    def pressed_while_writing(state, path):
        if state["epoch"] == 4:
            signal.raise_signal(signal.SIGINT)
        write(state, path)

    monkeypatch.setattr(checkpointer, "save_checkpoint", pressed_while_writing)
    ckpt = str(tmp_path / "run.ckpt")
    with pytest.raises(TrainingInterrupted, match=f"interrupted in epoch 4 .*{ckpt} holds epoch 4"):
        fit(tiny, checkpoint=ckpt, checkpoint_every=2)
    assert load_checkpoint(ckpt)["epoch"] == 4


class Signalled(Callback):
    """Sends this process ``signum`` in the middle of ``epoch`` (after its first batch)."""

    def __init__(self, epoch, signum):
        self.epoch, self.signum = epoch, signum

    def wrap_steps(self, loop, epoch, run, batches):
        if epoch != self.epoch:
            return run(batches)
        total, count = run(batches[:1])
        signal.raise_signal(self.signum)  # raises here unless a handler of the user's takes it
        rest_total, rest_count = run(batches[1:]) if batches[1:] else (0.0, 0)
        return total + rest_total, count + rest_count


def test_sigterm_stops_the_run_as_ctrl_c_does_and_resuming_ends_as_an_uninterrupted_run(
    tiny, tmp_path
):
    _, full = fit(tiny)
    ckpt = str(tmp_path / "run.ckpt")
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted) as info:
        fit(tiny, [Signalled(5, signal.SIGTERM)], checkpoint=ckpt, checkpoint_every=2)
    e = info.value
    assert (e.epoch, e.checkpoint_epoch, e.signum) == (5, 4, signal.SIGTERM)
    assert str(e).startswith("stopped by SIGTERM in epoch 5 (best valid acc ")
    assert f"{ckpt} holds epoch 4: add --resume" in str(e)
    assert signal.getsignal(signal.SIGTERM) is previous  # handed back

    _, resumed = fit(tiny, checkpoint=ckpt, checkpoint_every=2, resume=True)
    assert resumed.resumed_from == 4
    for key in ("best_epoch", "valid_metric", "test_metric", "final_loss"):
        assert getattr(resumed, key) == getattr(full, key), key
