"""The JSONL log of a run: one record per epoch, consistent across resumes."""

from __future__ import annotations

import json
import os
import os.path as osp
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from revgnn.training.callback import Callback
from revgnn.utils.paths import check_output

if TYPE_CHECKING:
    from revgnn.training.loop import Loop

__all__ = ["JsonlLog", "iter_records"]


class JsonlLog(Callback):
    """Writes each epoch's record as one JSON line (rank 0). A new run refuses to replace an
    existing log unless the run may overwrite its outputs; a resumed run keeps the lines up to
    the epoch it resumed from and drops the later ones (the killed run may have logged epochs
    its checkpoint does not hold), so each epoch is in the log once.

    Args:
        path (str): The file.
    """

    order = 60

    def __init__(self, path: str) -> None:
        self.path = path
        self.opened = False

    def on_fit_start(self, loop: Loop) -> None:
        if not loop.main:
            return
        if not loop.resumed_from:
            check_output(self.path, "--log", loop.cfg.overwrite)
        os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
        if not loop.resumed_from:
            open(self.path, "w").close()
        elif osp.exists(self.path):
            kept = [r for r in iter_records(self.path) if r.get("epoch", 0) <= loop.resumed_from]
            with open(self.path, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in kept)

    def on_epoch_end(self, loop: Loop, epoch: int, record: dict[str, Any]) -> None:
        if loop.main:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")

    def __repr__(self) -> str:
        return f"JsonlLog({self.path!r})"


def iter_records(path: str) -> Iterator[dict[str, Any]]:
    """The epoch records of a JSONL log written by :func:`~revgnn.train` (a line cut short by
    a kill is skipped)."""
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
