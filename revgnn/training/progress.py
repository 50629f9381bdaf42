"""What a run shows while it trains: a progress bar, or one line per evaluation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from revgnn.training.callback import Callback

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["Progress"]


class Progress(Callback):
    """A tqdm bar over the epochs (loss, validation score, best test score) on rank 0, or,
    with ``bar=False``, one printed line per evaluation; a final line says why a run stopped
    before its last epoch.

    Args:
        bar (bool): Show the bar.
    """

    order = 70

    def __init__(self, bar: bool = True) -> None:
        self.bar_enabled = bar
        self.bar: Any = None

    def on_fit_start(self, loop: Loop) -> None:
        self.bar = tqdm(
            total=loop.cfg.epochs,
            initial=loop.start - 1,
            desc=f"{loop.task.name} seed {loop.cfg.seed}",
            disable=not (self.bar_enabled and loop.main),
            unit="epoch",
            dynamic_ncols=True,
        )

    def line(self, loop: Loop, epoch: int, record: dict[str, Any]) -> str:
        m = loop.task.metric
        return (
            f"{loop.task.name} seed {loop.cfg.seed} | epoch {epoch}/{loop.cfg.epochs} | loss "
            f"{record['loss']:.4f} | valid {m} {record[f'valid_{m}']:.4f} | best test {m} "
            f"{loop.best['test']:.4f} (epoch {loop.best['epoch']}) | {loop.elapsed:.0f} s"
        )

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        m = loop.task.metric
        postfix = {"loss": f"{record['loss']:.4f}"}
        if f"valid_{m}" in record:
            postfix[f"valid_{m}"] = f"{record[f'valid_{m}']:.4f}"
            if not self.bar_enabled:
                loop.say(self.line(loop, epoch, record))
        postfix[f"best_test_{m}"] = f"{loop.best['test']:.4f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def on_fit_end(self, loop: Loop) -> None:
        self.bar.close()
        if loop.stop_reason:
            loop.say(f"stopped at epoch {loop.epochs_run}: {loop.stop_reason}")

    def __repr__(self) -> str:
        return f"Progress(bar={self.bar_enabled})"
