"""Checkpoints: written atomically, read with ``weights_only=True``, refused with one clear
line when they are missing, corrupted, not revgnn's, or from another model."""

from __future__ import annotations

import os
import os.path as osp
import pickle
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "check_model_state",
    "load_checkpoint",
    "load_trained",
    "restore_trained",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be used: what is wrong with it and what to do."""


def save_checkpoint(state: dict[str, Any], path: str) -> None:
    """Write ``state`` (with the format marker) to ``path`` atomically: a kill leaves either
    the previous checkpoint or the new one, never half of one."""
    if osp.isdir(path):
        raise CheckpointError(f"checkpoint {path} is a folder: give a file path (--checkpoint)")
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f".{osp.basename(path)}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": CHECKPOINT_FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:  # a failed write leaves the previous checkpoint and no temporary file
        if osp.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`~revgnn.train` (``weights_only=True``: no code
    from the file runs). Raises :class:`CheckpointError` saying why a file is unusable."""
    if not osp.exists(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    if osp.isdir(path):
        raise CheckpointError(f"checkpoint {path} is a folder, not a checkpoint file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # any failure to read means: not a usable checkpoint
        raise CheckpointError(
            f"{path} is not a revgnn checkpoint: {_why(e)}; {_WHAT_TO_DO}"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a revgnn checkpoint: it lacks the format marker (format "
            f"{CHECKPOINT_FORMAT}) revgnn writes; {_WHAT_TO_DO}"
        )
    return ckpt


_WHAT_TO_DO = "pass the file a revgnn run wrote with --checkpoint, or delete it to start fresh"


def _why(e: Exception) -> str:
    # torch's own messages advise weights_only=False, which would run code from the file:
    # never pass that on.
    text = str(e).lower()
    if "zip" in text or "central directory" in text:
        return "it is truncated or corrupted (not a complete archive torch.save writes)"
    if isinstance(e, EOFError):
        return "it is empty or truncated"
    if isinstance(e, pickle.UnpicklingError):
        return "it holds objects other than tensors and plain data, or torch.save did not write it"
    return f"torch.load cannot read it ({type(e).__name__})"


def _mismatches(model_state: dict[str, Tensor], saved: dict[str, Tensor]) -> list[str]:
    out = []
    for key, value in model_state.items():
        if key not in saved:
            out.append(f"{key} is missing from the checkpoint")
        elif tuple(saved[key].shape) != tuple(value.shape):
            out.append(
                f"{key} has shape {list(saved[key].shape)} there and {list(value.shape)} here"
            )
    out += [f"{key} is not in this model" for key in saved if key not in model_state]
    return out


_RESUME = (
    "Resume with the settings of the run that wrote it, or start a new run with another "
    "--checkpoint"
)


def check_model_state(
    model: nn.Module,
    state: dict[str, Tensor],
    path: str,
    saved_repr: str | None = None,
    remedy: str = _RESUME,
) -> None:
    """Refuse, with one line naming the first differences, both models and ``remedy``, a
    checkpoint written for another architecture; ``model`` is left untouched."""
    problems = _mismatches(model.state_dict(), state)
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        written = (
            f"; the checkpoint's model is {saved_repr}, this run's {model!r}" if saved_repr else ""
        )
        raise CheckpointError(
            f"checkpoint {path} was written for a different model: {'; '.join(problems[:2])}"
            f"{more}{written}. {remedy}"
        )


def load_trained(model: nn.Module, path: str) -> nn.Module:
    """Load into ``model`` the weights that a run's checkpoint ``path`` holds as its result,
    and return it in eval mode: the best-validation weights, which a finished run restored
    and scored (the best so far, for a run still going), else the last epoch's.

    ``model`` must have the run's architecture; a model of another architecture is refused,
    naming the differences. A checkpoint of ``revgnn train`` holds its recipe:
    :func:`~revgnn.training.run_record.load_run` rebuilds the model (and the run's data)
    from it.
    """
    return restore_trained(model, load_checkpoint(path), path)


def restore_trained(model: nn.Module, ckpt: dict[str, Any], path: str) -> nn.Module:
    """:func:`load_trained` from checkpoint ``ckpt``, already read from ``path``."""
    best = ckpt.get("callbacks", {}).get("BestWeights") or {}
    state = best.get("state") or ckpt["model"]
    remedy = (
        "Build the model as the run that wrote it did (a checkpoint of revgnn train: "
        f"load_run({path!r}) builds it)"
    )
    check_model_state(model, state, path, ckpt.get("model_repr"), remedy)
    model.load_state_dict(state)
    return model.eval()
