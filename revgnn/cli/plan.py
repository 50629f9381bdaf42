"""``revgnn plan``: the deepest and the widest model that fit a memory budget.

Examples::

    revgnn plan --memory 16GB --nodes 132534 --edges 79122504 --in-channels 8 \\
        --out-channels 112 --edge-dim 8               # ogbn-proteins, full graph
    revgnn plan --memory 11GiB --nodes 169343 --edges 1166243 --in-channels 128 \\
        --out-channels 40 --edge-dim none --amp bf16 --depth 28
    revgnn plan --check                               # predicted versus measured
    revgnn plan --calibrate calibration.json          # re-fit the constants (maintainers)

Predictions come from the analytic model of :mod:`revgnn.memory.plan`: the peak of live tensors
of one training step with Adam, which is what a GPU's allocator reports; a process needs the
framework on top (about 350 MB on CPU, the CUDA context on a GPU).
"""

from __future__ import annotations

import argparse
import json
import os.path as osp
import re
from pathlib import Path
from typing import Any

from revgnn.cli.profile import DEFAULT_KINDS, default_memory_limit, save_plot
from revgnn.config.fields import settings_of
from revgnn.config.flags import add_section_flags, given
from revgnn.memory.kinds import MODEL_KINDS, Config, canonical_kind, num_parameters
from revgnn.memory.plan import max_depth, max_width, min_parts, predict
from revgnn.utils.registry import spelled
from revgnn.utils.units import format_bytes, parse_bytes

#: What ``--check`` measures (on the graph given by the flags): depth 7 to 1001, width 32 to
#: 256, 2 to 4 groups, every model kind, fp32 and bf16.
CHECK_CONFIGS: tuple[dict[str, Any], ...] = (
    {"kind": "revgnn", "num_layers": 7, "hidden_channels": 32, "num_groups": 2},
    {"kind": "revgnn", "num_layers": 28, "hidden_channels": 96, "num_groups": 3},
    {"kind": "revgnn", "num_layers": 112, "hidden_channels": 64, "num_groups": 2},
    {"kind": "revgnn", "num_layers": 28, "hidden_channels": 256, "num_groups": 4},
    {"kind": "revgnn", "num_layers": 1001, "hidden_channels": 32, "num_groups": 2},
    {"kind": "revgnn", "num_layers": 28, "hidden_channels": 128, "num_groups": 2, "amp": "bf16"},
    {"kind": "wt-revgnn", "num_layers": 112, "hidden_channels": 128, "num_groups": 4},
    {"kind": "wt-revgnn", "num_layers": 7, "hidden_channels": 256, "num_groups": 2},
    {"kind": "deq-gnn", "num_layers": 7, "hidden_channels": 64, "num_groups": 2},
    {"kind": "deepergcn", "num_layers": 7, "hidden_channels": 64},
    {"kind": "deepergcn", "num_layers": 56, "hidden_channels": 32},
    {"kind": "pyg-groupaddrev", "num_layers": 28, "hidden_channels": 64, "num_groups": 2},
    {"kind": "pyg-groupaddrev", "num_layers": 7, "hidden_channels": 192, "num_groups": 4},
    {"kind": "pyg-deepgcn", "num_layers": 14, "hidden_channels": 64},
)


_AMPS = ("bf16", "fp16")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--memory", help="the budget with its unit, e.g. 16GB (10^9), 16GiB (2^30), 500MB"
    )
    graph = parser.add_argument_group("model and graph")
    add_section_flags(graph, "config", Config)
    graph.add_argument("--amp", choices=_AMPS, type=spelled(_AMPS), help="autocast precision")
    graph.add_argument("--groups", type=int, default=Config().num_groups, help="groups C")
    parser.add_argument(
        "--kinds",
        default=",".join(DEFAULT_KINDS),
        help=f"comma-separated model kinds among {', '.join(MODEL_KINDS)}",
    )
    parser.add_argument(
        "--widths",
        default="32,64,128,256,512",
        help="widths to find the deepest model for (default: 32,...,512)",
    )
    parser.add_argument(
        "--depth", type=int, default=112, help="depth to find the widest model for (default: 112)"
    )
    parser.add_argument("--json", type=osp.expanduser, help="also write the plan to this JSON file")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check",
        action="store_true",
        help="measure configurations (fresh processes) and print predicted "
        "versus measured (graph flags not given take their defaults)",
    )
    mode.add_argument(
        "--calibrate",
        metavar="RECORDS_JSON",
        help="measure the calibration grid of --kinds, fit the constants, print "
        "them and write the measurements to RECORDS_JSON",
    )
    parser.add_argument(
        "--calibrate-aggrs",
        default="max,softmax,power,mean",
        help="aggregations to calibrate (default: max,softmax,power,mean)",
    )
    parser.add_argument(
        "--calibrate-amps", default="none,bf16", help="precisions to calibrate (default: none,bf16)"
    )
    parser.add_argument(
        "--out",
        type=osp.expanduser,
        default="plan_check",
        help="--check output path without extension (default: ./plan_check)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="the device planned for and measured by --check; cuda adds cuBLAS's workspaces "
        "(default: cpu)",
    )
    parser.add_argument(
        "--memory-limit",
        help="--check: skip configurations predicted above this, stop any whose RSS passes "
        "it (default: half the physical memory)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


#: The graph's sizes a plan needs (``--check`` measures Config's default graph without them).
GRAPH = ("num_nodes", "num_edges", "in_channels", "out_channels", "edge_dim")


def _base(args: argparse.Namespace, kind: str, defaults: bool) -> Config:
    values = given(args, "config")
    missing = [k for k in GRAPH if k not in values]
    if missing and not defaults:
        names = {s.name: f"--{s.flag}" for s in settings_of(Config)}
        flags = ", ".join(names[k] for k in missing)
        hint = " (--edge-dim none: a graph without edge features)" if "edge_dim" in missing else ""
        raise ValueError(f"planning needs the graph's sizes: give {flags}{hint}")
    return Config(
        kind=kind,
        num_layers=1,
        hidden_channels=64,
        num_groups=args.groups if MODEL_KINDS[kind].grouped else 2,
        amp=args.amp,
        **values,
    )


def plan(args: argparse.Namespace) -> dict[str, Any]:
    """The deepest model per width and the widest at ``--depth``, per kind."""
    if not args.memory:
        raise ValueError("give the budget with --memory (e.g. --memory 16GB)")
    budget = parse_bytes(args.memory, "--memory")
    widths = [int(w) for w in args.widths.split(",") if w]
    rows = []
    for kind in (canonical_kind(k, "--kinds") for k in args.kinds.split(",")):
        base = _base(args, kind, defaults=False)
        deepest = {}
        for w in widths:
            if MODEL_KINDS[kind].grouped and w % base.num_groups:
                deepest[w] = "n/a"
                continue
            deepest[w] = max_depth(base.with_(hidden_channels=w), budget, device=args.device)
        at = base.with_(num_layers=args.depth)
        widest = max_width(at, budget, device=args.device)
        pred = predict(at.with_(hidden_channels=widest), device=args.device) if widest else None
        parts = None
        listed = [w for w, d in deepest.items() if d != "n/a"]
        if listed and all(deepest[w] == 0 for w in listed):
            # No listed width fits the whole graph: on how many parts would the first one?
            at_width = at.with_(hidden_channels=listed[0])
            parts = (listed[0], min_parts(at_width, budget, args.device))
        rows.append(
            {
                "kind": kind,
                "deepest": deepest,
                "widest_at_depth": widest,
                "widest_params": num_parameters(at.with_(hidden_channels=widest)) if widest else 0,
                "widest_predicted_bytes": pred.total if pred else None,
                "parts_at_depth": parts,
                "calibrated": predict(base).calibrated,
                "constants": predict(base).constants,
                "caveat": MODEL_KINDS[kind].caveat,
            }
        )
    return {"budget_bytes": budget, "depth": args.depth, "widths": widths, "rows": rows}


def print_plan(result: dict[str, Any], args: argparse.Namespace) -> None:
    cfg = _base(args, "revgnn", defaults=False)
    print(
        f"budget {format_bytes(result['budget_bytes'])} for one training step with Adam on "
        f"{args.device} (live tensors{', cuBLAS workspaces' if 'cuda' in args.device else ''}; "
        "add the framework: ~350 MB on CPU, the CUDA context on a GPU)"
    )
    print(
        f"graph N={cfg.num_nodes:,} E={cfg.num_edges:,} F={cfg.in_channels} "
        f"T={cfg.out_channels} edge_dim={cfg.edge_dim}; aggr={cfg.aggr}, "
        f"{cfg.precision}, {args.groups} groups for reversible models\n"
    )
    widths = result["widths"]
    depth = result["depth"]
    head = f"{'deepest model':<22}" + "".join(f"{'D=' + str(w):>10}" for w in widths)
    print(head + f"   widest at L={depth}")
    for row in result["rows"]:
        label = MODEL_KINDS[row["kind"]].label + ("" if row["calibrated"] else " *")
        label += " †" if row["caveat"] else ""
        cells = []
        for w in widths:
            v = row["deepest"][w]
            cells.append("any" if v is None else str(v))
        widest = row["widest_at_depth"]
        tail = (
            f"   D={widest} ({row['widest_params']:,} params, "
            f"{format_bytes(row['widest_predicted_bytes'])})"
            if widest
            else "   none fits"
        )
        if row["parts_at_depth"]:
            tail += _parts_hint(row["parts_at_depth"])
        print(f"{label:<22}" + "".join(f"{c:>10}" for c in cells) + tail)
    print(
        "\nany: memory does not depend on depth. 0: not even one layer fits. "
        "n/a: width not divisible by the groups."
    )
    if any(r["parts_at_depth"] for r in result["rows"]):
        print(
            f"--parts P: no listed width fits the whole graph; one part of N/P nodes and E/P "
            f"edges fits at L={depth} (revgnn train --partition metis --parts P; a random part "
            "keeps fewer edges, about E/P^2)."
        )
    print(
        "What is predicted: the peak of live tensors of one training step (what a GPU's "
        "allocator reports), from calibrated constants."
    )
    if not all(r["calibrated"] for r in result["rows"]):
        print("* no constants measured for this aggregation/precision: nearest ones used")
    for row in result["rows"]:
        if row["caveat"]:
            print(f"† {MODEL_KINDS[row['kind']].label}: {row['caveat']}")


def _parts_hint(parts: tuple[int, int | None]) -> str:
    width, p = parts
    if p is None:
        return f"; no part fits D={width}: the model's own state is above the budget"
    return f"; D={width} fits on --parts {p}"


def check(args: argparse.Namespace) -> int:
    from revgnn.memory.plot import plot_check
    from revgnn.profiling.profile import machine_info, sweep
    from revgnn.training.loop import resolve_device

    resolve_device(args.device)  # a plan may be for another machine, a check runs here
    configs = []
    for entry in CHECK_CONFIGS:
        if entry["kind"] not in MODEL_KINDS:
            continue
        base = _base(args, entry["kind"], defaults=True)
        configs.append(base.with_(**entry))
    limit = (
        parse_bytes(args.memory_limit, "--memory-limit")
        if args.memory_limit
        else default_memory_limit()
    )
    results = sweep(
        configs,
        device=args.device,
        timed_steps=0,
        memory_limit=limit,
        progress=not args.no_progress,
    )
    print(
        f"{'model':<22} {'L':>5} {'D':>4} {'C':>2} {'amp':>4} "
        f"{'predicted':>11} {'measured':>11} {'error':>7}"
    )
    within = 0
    measured = 0
    for r in results:
        c = r["config"]
        kind = MODEL_KINDS[c["kind"]]
        row = (
            f"{kind.label:<22} {c['num_layers']:>5} {c['hidden_channels']:>4} "
            f"{c['num_groups'] if kind.grouped else '-':>2} {c['amp'] or '-':>4} "
        )
        if "peak_bytes" not in r:
            print(row + (r.get("skipped") or r.get("error", "")))
            continue
        err = r["predicted_bytes"] / r["peak_bytes"] - 1
        r["relative_error"] = err
        measured += 1
        within += abs(err) <= 0.15
        print(
            row + f"{format_bytes(r['predicted_bytes']):>11} "
            f"{format_bytes(r['peak_bytes']):>11} {err:>+7.1%}"
        )
    print(f"\nwithin 15% of the measured peak: {within} of {measured}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".json"), "w") as f:
        json.dump({"meta": machine_info(args.device), "results": results}, f, indent=1)
    print(f"wrote {out.with_suffix('.json')}")
    if measured:
        save_plot(plot_check, results, out.with_suffix(".png"))
    else:
        print("nothing measured: no plot")
    return 0 if measured == len(results) else 1


def merge_notes(previous: str, kinds: str, how: str) -> str:
    """The calibration notes after a calibration of ``kinds`` described by ``how``: the
    previous notes without the note of an earlier calibration of the same ``--kinds`` (whose
    constants this one replaced), then ``how``."""
    notes = re.split(r" (?=Measured on \S+ by `revgnn plan --calibrate` \(--kinds )", previous)
    return " ".join([n for n in notes if f"(--kinds {kinds} " not in n] + [how])


def run_calibration(args: argparse.Namespace) -> int:
    """Measure the calibration grid of ``--kinds`` and merge the fit into the package data:
    the constants and records of the kinds measured are replaced, the others kept."""
    from revgnn.memory.plan import CALIBRATION, CALIBRATION_FILE, CALIBRATION_NOTES, calibration_key
    from revgnn.profiling.calibration import calibrate, fit_errors, write_calibration
    from revgnn.profiling.profile import machine_info
    from revgnn.training.loop import resolve_device

    resolve_device(args.device)
    kinds = args.kinds.split(",")
    aggrs = args.calibrate_aggrs.split(",")
    amps = [None if a in ("none", "fp32") else a for a in args.calibrate_amps.split(",")]
    constants, records = calibrate(kinds, aggrs, amps, progress=not args.no_progress)
    path = Path(args.calibrate)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = machine_info("cpu")
    kept = []
    if path.exists():
        with open(path) as f:
            kept = [
                r
                for r in json.load(f)["results"]
                if calibration_key(Config.from_dict(r["config"])) not in constants
            ]
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": kept + records}, f, indent=1)
    worst = fit_errors(records, constants)
    errors = ", ".join(f"{k} {v:.1%}" for k, v in sorted(worst.items()))
    how = (
        f"Measured on {meta['date'][:10]} by `revgnn plan --calibrate` (--kinds {args.kinds} "
        f"--calibrate-aggrs {args.calibrate_aggrs} --calibrate-amps {args.calibrate_amps}) on "
        f"{meta['platform']}, CPU, torch {meta['torch']}, PyG {meta.get('torch_geometric')}, "
        f"OMP_NUM_THREADS={meta['omp_num_threads']}: the peak live tensor bytes "
        "(revgnn.memory.measure_peak) of the second training step (Adam) of each configuration "
        "of calibration_configs(kind, aggr, amp), fitted by fit_calibration; the measurements "
        f"are in {path.name}. Worst relative error on each calibration set: {errors}."
    )
    merged = {**CALIBRATION, **constants}
    notes = (
        how if set(merged) == set(constants) else merge_notes(CALIBRATION_NOTES, args.kinds, how)
    )
    write_calibration(merged, notes)
    print(how)
    print(f"wrote the measurements to {path} and the constants to {CALIBRATION_FILE}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.calibrate:
        return run_calibration(args)
    if args.check:
        return check(args)
    result = plan(args)
    print_plan(result, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0
