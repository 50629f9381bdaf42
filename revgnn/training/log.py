"""The JSONL log of a run: one record per epoch, consistent across resumes."""

from __future__ import annotations

import json
import os
import os.path as osp
from collections.abc import Iterator
from typing import Any

__all__ = ["JsonlLog", "iter_records"]


class JsonlLog:
    """Append-only JSONL log; on resume, lines after the checkpoint's epoch are dropped (the
    killed run may have logged epochs its checkpoint does not hold).

    Args:
        path (str, optional): The file, or ``None`` for no log.
        keep_until (int, optional): The epoch resumed from; ``None`` starts a new file.
    """

    def __init__(self, path: str | None, keep_until: int | None) -> None:
        self.path = path
        if path is None:
            return
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        if keep_until is None:
            open(path, "w").close()
        elif osp.exists(path):
            kept = [r for r in iter_records(path) if r.get("epoch", 0) <= keep_until]
            with open(path, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in kept)

    def write(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")


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
