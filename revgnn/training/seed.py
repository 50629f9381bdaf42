"""Seeding and the full random state of a run (for exact resumes)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["get_global_rng_state", "seed_everything", "set_global_rng_state"]


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global generator is what user code shares)
    torch.manual_seed(seed)


def get_global_rng_state() -> dict[str, Any]:
    """Every global generator's state, as tensors and numbers (``weights_only``-loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_global_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`get_global_rng_state`'s result."""
    random.setstate(state["python"])
    npst = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            npst["kind"],
            npst["keys"].numpy().astype(np.uint32),
            npst["pos"],
            npst["has_gauss"],
            npst["gauss"],
        )
    )
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
