"""``revgnn profile``: memory and time of a training step versus depth, one process each.

Examples::

    revgnn profile                                   # the five models, depths 7..112
    revgnn profile --preset revgnn-deep              # RevGNN-Deep (80 channels) up to 1001
    revgnn profile --kinds revgnn,deepergcn --depths 7,28 --widths 64,128 --amp none,bf16
    revgnn profile --dataset cora --kinds revgnn --depths 3,7

Writes ``OUT.json`` (every measurement, the planner's prediction, the machine) and ``OUT.png``
(memory versus depth, one line per model).
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from revgnn.config.flags import add_section_flags, given
from revgnn.memory.kinds import MODEL_KINDS, Config, canonical_kind
from revgnn.utils.registry import spelled
from revgnn.utils.units import format_bytes, parse_bytes

DEFAULT_KINDS = ("revgnn", "wt-revgnn", "deq-gnn", "deepergcn", "pyg-groupaddrev")

#: Named sweeps: defaults for the flags below (explicit flags override them).
PRESETS: dict[str, dict[str, Any]] = {
    "compare": {
        "kinds": ",".join(DEFAULT_KINDS),
        "depths": "7,28,112",
        "widths": "64",
    },
    "revgnn-deep": {
        "kinds": "revgnn",
        "depths": "7,28,112,448,1001",
        "widths": "80",
        "timed_steps": 0,
    },
    "revgnn-wide": {
        "kinds": "revgnn",
        "depths": "7,28,112,448",
        "widths": "224",
        "timed_steps": 0,
    },
}


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v]
    except ValueError:
        raise ValueError(f"{flag} {text!r} is not a comma-separated list of integers") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        type=spelled(PRESETS),
        default="compare",
        help="named sweep giving defaults for --kinds/--depths/--widths (default: compare)",
    )
    parser.add_argument("--kinds", help=f"comma-separated model kinds: {', '.join(MODEL_KINDS)}")
    parser.add_argument("--depths", help="comma-separated depths, e.g. 7,28,112")
    parser.add_argument("--widths", help="comma-separated hidden widths (default: 64)")
    parser.add_argument("--groups", default="2", help="comma-separated group counts (default: 2)")
    parser.add_argument(
        "--amp",
        default="none",
        help="comma-separated precisions among none, bf16, fp16 (default: none)",
    )
    graph = parser.add_argument_group("model and graph (synthetic unless --dataset)")
    add_section_flags(graph, "config", Config)
    graph.add_argument(
        "--dataset", help="'cora' (bundled) or a graph file (.pt / .pth / .npz, as revgnn train)"
    )
    graph.add_argument(
        "--degree", type=float, help="average degree K: E = N*K (instead of --edges)"
    )
    run = parser.add_argument_group("measurement")
    run.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    run.add_argument(
        "--timed-steps",
        type=int,
        help="unprofiled steps timed after the warm-up step; 0 times the warm-up "
        "step itself (default: 1; 0 for the revgnn-deep/-wide presets)",
    )
    run.add_argument(
        "--memory-limit",
        help="skip configurations predicted above this, stop any whose RSS "
        "passes it (default: half the physical memory)",
    )
    run.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds per configuration (default: 1800)"
    )
    run.add_argument("--threads", type=int, help="torch threads per process")
    run.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=osp.expanduser,
        default="profile",
        help="output path without extension: writes OUT.json and OUT.png (default: ./profile)",
    )
    parser.add_argument("--title", help="plot title")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def save_plot(draw: Callable[..., None], results: list[dict[str, Any]], path: Path, **kw) -> None:
    """Draw a plot with matplotlib, or say how to get it when the plot extra is missing (the
    measurements are written before this is called)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print(f"no plot: matplotlib is not installed (pip install 'revgnn[plot]'); {path} skipped")
        return
    draw(results, path, **kw)
    print(f"wrote {path}")


def default_memory_limit() -> int | None:
    """Half the machine's physical memory (a fixed figure: what is free at one moment on a
    shared machine says little about the next), or ``None`` if unknown."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):
        return None


def configs_from_args(args: argparse.Namespace) -> list[Config]:
    """The sweep the flags describe: every kind x width x groups x precision x depth."""
    preset = PRESETS[args.preset]
    kinds = (args.kinds or preset["kinds"]).split(",")
    depths = _ints(args.depths or preset["depths"], "--depths")
    widths = _ints(args.widths or preset.get("widths", "64"), "--widths")
    groups = _ints(args.groups, "--groups")
    amps = [None if a.lower() in ("none", "fp32") else a.lower() for a in args.amp.split(",")]
    fixed = given(args, "config")
    if args.degree is not None:
        if "num_edges" in fixed:
            raise ValueError("give --edges or --degree, not both")
        fixed["num_edges"] = round(fixed.get("num_nodes", Config().num_nodes) * args.degree)
    configs = []
    for kind in (canonical_kind(k, "--kinds") for k in kinds):
        kind_groups = groups if MODEL_KINDS[kind].grouped else groups[:1]
        for width in widths:
            for g in kind_groups:
                for amp in amps:
                    for depth in depths:
                        configs.append(
                            Config(
                                kind=kind,
                                num_layers=depth,
                                hidden_channels=width,
                                num_groups=g,
                                amp=amp,
                                **fixed,
                            )
                        )
    return configs


def print_table(results: list[dict[str, Any]], file: Any = None) -> None:
    file = sys.stdout if file is None else file  # resolved per call: stdout may be swapped
    head = (
        f"{'model':<22} {'L':>5} {'D':>4} {'C':>2} {'amp':>4} {'params':>11} {'saved':>11} "
        f"{'peak':>11} {'predicted':>11} {'peak RSS':>11} {'step s':>7}"
    )
    print(head, file=file)
    for r in results:
        c = r["config"]
        row = (
            f"{MODEL_KINDS[c['kind']].label:<22} {c['num_layers']:>5} {c['hidden_channels']:>4} "
            f"{c['num_groups'] if MODEL_KINDS[c['kind']].grouped else '-':>2} "
            f"{c['amp'] or '-':>4} "
        )
        if "peak_bytes" not in r:
            print(row + (r.get("skipped") or r.get("error", "")), file=file)
            continue
        pred = r.get("predicted_bytes")
        print(
            row + f"{r['num_parameters']:>11,} {format_bytes(r['saved_bytes']):>11} "
            f"{format_bytes(r['peak_bytes']):>11} "
            f"{format_bytes(pred) if pred else '-':>11} "
            f"{format_bytes(r['peak_rss_bytes']) if r['device'] == 'cpu' else '-':>11} "
            f"{r['step_seconds']:>7.2f}",
            file=file,
        )


def run(args: argparse.Namespace) -> int:
    from revgnn.profiling.profile import machine_info, sweep
    from revgnn.training.loop import resolve_device

    resolve_device(args.device)  # measured here: a device this machine lacks is refused now
    configs = configs_from_args(args)
    limit = (
        parse_bytes(args.memory_limit, "--memory-limit")
        if args.memory_limit
        else default_memory_limit()
    )
    timed = args.timed_steps
    if timed is None:
        timed = PRESETS[args.preset].get("timed_steps", 1)
    results = sweep(
        configs,
        device=args.device,
        seed=args.seed,
        dataset=args.dataset,
        timed_steps=timed,
        memory_limit=limit,
        timeout=args.timeout,
        threads=args.threads,
        progress=not args.no_progress,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = machine_info(args.device)
    meta.update(arguments={k: v for k, v in vars(args).items() if k != "command"})
    meta["memory_limit"] = limit
    with open(out.with_suffix(".json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print_table(results)
    print(f"wrote {out.with_suffix('.json')}")
    if any("peak_bytes" in r for r in results):
        from revgnn.memory.plot import plot_depth

        save_plot(plot_depth, results, out.with_suffix(".png"), title=args.title)
    else:
        print("no configuration ran: no plot")
    return 0 if all("error" not in r for r in results) else 1
