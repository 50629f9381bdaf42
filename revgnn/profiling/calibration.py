"""Fitting the planner's constants to measured peaks (``revgnn plan --calibrate``).

:func:`calibrate` measures :func:`calibration_configs` with the profiler's own step
(:func:`revgnn.profiling.profile.profile_config`), :func:`fit_calibration` fits the constants and
:func:`write_calibration` stores them as the package data that :mod:`revgnn.memory.plan`
reads.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch

from revgnn.memory.cuda_workspace import step_workspace_bytes
from revgnn.memory.kinds import MODEL_KINDS, Config
from revgnn.memory.plan import CALIBRATION_FILE, calibration_key, features, predict, static_bytes

__all__ = [
    "calibrate",
    "calibration_configs",
    "fit_calibration",
    "fit_errors",
    "write_calibration",
]


def calibration_configs(
    kind: str, aggr: str = "max", amp: str | None = None, size: int = 14, seed: int = 0
) -> list[Config]:
    """The configurations :func:`calibrate` measures for one kind, aggregation and precision:
    small graphs and models (fast to measure) that vary every feature independently."""
    rng = random.Random(f"{kind}/{aggr}/{amp}/{seed}")
    k = MODEL_KINDS[kind]
    out = []
    while len(out) < size:
        i = len(out)
        groups = rng.choice((2, 3, 4)) if k.grouped else 2
        step = groups * k.channel_multiple
        width = rng.choice((24, 48, 96, 144, 192)) // step * step
        if k.grouped and width // groups < 8:
            continue
        nodes = rng.choice((500, 1000, 2000, 3000))
        degree = rng.choice((3, 8, 20, 30, 60, 100))
        # Half the configurations without edge features, and depth varied where it matters.
        depth = rng.choice((2, 4, 8, 16)) if not (k.depth_free or k.grouped) else rng.choice((2, 3))
        # Dense parts (ogbn-proteins' hold about 60 edges a node) without the per-layer edge
        # tensors of a deep non-reversible model outgrowing the machine.
        if depth * nodes * degree * width > 2e8:
            continue
        out.append(
            Config(
                kind=kind,
                num_layers=depth,
                hidden_channels=width,
                num_groups=groups,
                num_nodes=nodes,
                num_edges=nodes * degree,
                in_channels=rng.choice((8, 64)),
                out_channels=rng.choice((10, 112)),
                edge_dim=8 if i % 2 == 0 and k.edge_features else None,
                aggr=aggr,
                # MLP depth varied where the conv has the option (GENConv's expanding MLP).
                mlp_layers=rng.choice((1, 2, 2, 3)) if k.aggregations else Config.mlp_layers,
                amp=amp,
            )
        )
    return out


def _nnls(rows: Sequence[Sequence[float]], targets: Sequence[float]) -> list[float]:
    """Non-negative least squares by active-set elimination (small problems)."""
    a = torch.tensor(rows, dtype=torch.float64)
    b = torch.tensor(targets, dtype=torch.float64).unsqueeze(1)
    active = list(range(a.size(1)))
    coef = [0.0] * a.size(1)
    while active:
        cols = a[:, active]
        scale = cols.abs().amax(0).clamp_min(1e-300)
        sol = torch.linalg.lstsq(cols / scale, b).solution.squeeze(1) / scale
        worst = int(sol.argmin())
        if sol[worst] >= 0:
            for j, v in zip(active, sol.tolist()):
                coef[j] = v
            break
        active.pop(worst)
    return coef


def fit_calibration(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Fit the activation constants to measured records (:func:`revgnn.profile.profile_config`
    output): per calibration key, non-negative least squares of the relative error of
    ``peak_bytes - static_bytes`` (and, for a record measured on CUDA, cuBLAS's workspaces)
    against the features."""
    groups: dict[str, list[tuple[dict[str, float], float, float]]] = {}
    for r in records:
        if "peak_bytes" not in r:
            continue
        cfg = Config.from_dict(r["config"])
        target = r["peak_bytes"] - sum(static_bytes(cfg).values())
        target -= step_workspace_bytes(r.get("device", "cpu"))
        groups.setdefault(calibration_key(cfg), []).append(
            (features(cfg), target, float(r["peak_bytes"]))
        )
    out = {}
    for key, rows in sorted(groups.items()):
        names = list(rows[0][0])
        coef = _nnls(
            [[phi[n] / peak for n in names] for phi, _, peak in rows],
            [target / peak for _, target, peak in rows],
        )
        out[key] = {n: round(c, 4) for n, c in zip(names, coef) if c > 0}
    return out


def calibrate(
    kinds: Sequence[str],
    aggrs: Sequence[str] = ("max",),
    amps: Sequence[str | None] = (None,),
    size: int = 14,
    progress: bool = True,
) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
    """Measure :func:`calibration_configs` for every kind, aggregation and precision in this
    process and fit the constants. Returns the constants and the records.

    Peaks are measured relative to the live tensors at the start of each step, so the
    configurations can share one process (the peak RSS they report cannot be compared).
    """
    from tqdm import tqdm

    from revgnn.profiling.profile import profile_config

    def aggregations(kind: str) -> Sequence[str]:
        # A kind whose conv has its own aggregation is measured once, whatever ``aggrs`` say.
        offered = MODEL_KINDS[kind].aggregations
        return [a for a in aggrs if a in offered] if offered else [Config.aggr]

    configs = [
        cfg
        for kind in kinds
        for aggr in aggregations(kind)
        for amp in amps
        if amp is None or MODEL_KINDS[kind].autocast
        for cfg in calibration_configs(kind, aggr, amp, size)
    ]
    records = []
    for cfg in tqdm(configs, desc="calibrate", unit="config", disable=not progress):
        records.append(profile_config(cfg, timed_steps=0))
    return fit_calibration(records), records


def fit_errors(
    records: Iterable[dict[str, Any]], calibration: dict[str, dict[str, float]]
) -> dict[str, float]:
    """The worst relative error of the prediction, per calibration key, over ``records``."""
    worst: dict[str, float] = {}
    for r in records:
        if "peak_bytes" not in r:
            continue
        cfg = Config.from_dict(r["config"])
        predicted = predict(cfg, calibration, device=r.get("device", "cpu")).total
        err = abs(predicted / r["peak_bytes"] - 1)
        key = calibration_key(cfg)
        worst[key] = max(worst.get(key, 0.0), err)
    return worst


def write_calibration(
    constants: dict[str, dict[str, float]], notes: str, path: str | Path = CALIBRATION_FILE
) -> None:
    """Store ``constants`` and the ``notes`` saying how they were obtained as the planner's
    package data."""
    with open(path, "w") as f:
        json.dump({"notes": notes, "constants": constants}, f, indent=1)
        f.write("\n")
