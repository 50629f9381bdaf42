"""Noticing a model whose predictions have collapsed to one class."""

from __future__ import annotations

__all__ = ["CollapseMonitor"]


class CollapseMonitor:
    """Counts evaluations in a row whose validation predictions are a single class; says so
    once, when ``patience`` are reached (``0`` never does).

    Args:
        patience (int): Evaluations in a row.
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.run: list[int] = []
        self.warned = False

    def update(self, epoch: int, classes: int | None) -> str | None:
        """Record one evaluation; returns the message to give when collapse is reached."""
        if classes is None or self.patience == 0:
            return None
        self.run = [*self.run, epoch] if classes == 1 else []
        if self.warned or len(self.run) < self.patience:
            return None
        self.warned = True
        return (
            f"the model has predicted one class for every validation node for "
            f"{self.patience} evaluations running (epochs {self.run[0]}-{self.run[-1]}): it "
            "has collapsed to a single class. Likely causes: a learning rate too high (try "
            "--lr 10x lower), too much dropout (--dropout / --input-dropout), or the "
            "normalisation (--norm layer or batch)"
        )
