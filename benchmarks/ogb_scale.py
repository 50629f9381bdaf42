"""A rehearsal of every OGB preset on graphs of the real datasets' exact sizes.

For each preset of ``ogb_examples/`` (every shipped ``ogbn-*`` recipe), in a fresh process and
through the example's own code path (:func:`revgnn.training.experiment.prepare`: OGB's loader
and the preparation; the task's partitioner; the recipe's model; the one loop's step; the
task's evaluation; the checkpointer), it measures:

* loading + preparing: seconds and peak RSS, cold (OGB's ``processed/`` folder removed, so
  the raw ``csv.gz`` files are parsed) for the first preset of each dataset, from OGB's cache
  for the others; the bytes of the tensors it builds, and the ratio;
* the partition of one epoch (seconds);
* ``--steps`` training steps at the preset's full depth and width (seconds each), and one more
  under :func:`revgnn.memory.measure_peak` (timed too: the step time with ``--steps 0``): the
  step's peak of live tensors, counted as the planner counts it (the model's weights and Adam
  state, the batch, and what the step allocates), next to the planner's prediction
  (:func:`revgnn.memory.from_recipe.plan_config`);
* one evaluation exactly as training runs it (all views and parts), or, when the forward
  pass of its first part says it would take longer than ``--eval-budget``, that part alone
  with the whole evaluation's time extrapolated (``eval_parts_run`` says which);
* a checkpoint of the run (save and load, seconds and bytes);
* the epoch and full-run time extrapolated from these on this machine.

A worker saves its record after the training steps and again when the evaluation starts: a
preset stopped or killed during an hours-long evaluation keeps its measured steps in
``--json``, with ``incomplete`` and ``error`` saying where it stopped (Ctrl-C stops the whole
run after saving).

The graphs are the library's synthetic OGB folders
(:func:`revgnn.datasets.synthetic.write_ogb_layout` with :data:`OGB_SIZES`), written by
``--write`` when missing. Example, the whole rehearsal on one machine::

    python benchmarks/ogb_scale.py --root /data/ogb_full --write \\
        --json benchmarks/results/ogb_scale.json --markdown TABLE.md
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: The datasets and what their folders are called.
DATASETS = ("ogbn-proteins", "ogbn-arxiv", "ogbn-products")


def presets() -> list[str]:
    from revgnn.config.recipe import recipe_names

    return [n for n in recipe_names() if n.split("/")[0] in DATASETS]


def write_folders(root: str, seed: int, datasets: list[str]) -> list[dict]:
    """Write the full-size synthetic folders of ``datasets`` that ``root`` lacks; their
    timings."""
    from revgnn.datasets.synthetic import OGB_SIZES, write_ogb_layout

    out = []
    for name in datasets:
        kind = name.split("-")[1]
        folder = osp.join(root, name.replace("-", "_"))
        if osp.exists(osp.join(folder, "RELEASE_v1.txt")):
            continue
        nodes, edges = OGB_SIZES[kind]
        print(f"writing {name}: {nodes:,} nodes, {edges:,} raw edges", flush=True)
        start = time.perf_counter()
        write_ogb_layout(kind, root, nodes, seed=seed, num_raw_edges=edges)
        seconds = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
        out.append({"dataset": name, "write_seconds": seconds, "file_bytes": size})
        print(f"  {seconds:.0f} s, {size / 2**30:.2f} GiB of files", flush=True)
    return out


def _tensor_bytes(*tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if t is not None)


def _graph_bytes(data) -> int:
    return _tensor_bytes(*(data.get(k) for k in ("x", "edge_index", "edge_attr", "y")))


def plan(rec: dict, model, device) -> None:
    """Put the planner's prediction for the measured step of ``rec`` into it."""
    from revgnn.memory.from_recipe import plan_config
    from revgnn.memory.kinds import num_parameters
    from revgnn.memory.plan import predict

    try:
        cfg = plan_config(model, num_nodes=rec["batch_nodes"], num_edges=rec["batch_edges"],
                          in_channels=rec["in_channels"], out_channels=rec["out_channels"],
                          edge_dim=rec["edge_dim"], multilabel=rec["multilabel"],
                          amp=rec["amp"])  # fmt: skip
    except ValueError as e:
        rec["planned_peak_bytes"], rec["planner_note"] = None, str(e)
        return
    estimate = predict(cfg, device=device)
    rec["planned_peak_bytes"] = estimate.total
    rec["planned_terms"] = estimate.terms
    rec["planner_constants"] = estimate.constants
    rec["planner_params_match"] = num_parameters(cfg) == rec["num_params"]
    rec["planner_error"] = estimate.total / rec["peak_bytes"] - 1


def replan(path: str) -> list[dict]:
    """The records of ``path`` with the planner's predictions made again (after a new
    calibration), without measuring anything."""
    from revgnn.config.recipe import load_recipe

    records = json.loads(Path(path).read_text())
    for rec in records["records"]:
        if "peak_bytes" in rec:
            model = load_recipe(f"{rec['dataset']}/{rec['preset']}").model
            model = dataclasses.replace(model, num_layers=rec.get("layers", model.num_layers))
            plan(rec, model, rec.get("device", "cpu"))
    Path(path).write_text(json.dumps(records, indent=1) + "\n")
    return records["records"]


def rehearse(
    preset: str,
    root: str,
    steps: int,
    eval_budget: float,
    cold: bool,
    layers: int | None = None,
    save: Callable[[dict], None] | None = None,
) -> dict:
    """Everything the module docstring lists, for one preset, in this process. ``save`` gets
    the record so far after the training steps and after the evaluation's first part, so that
    a stopped or failed evaluation (hours at full depth) does not lose the steps."""
    import torch

    from revgnn.config.recipe import load_recipe
    from revgnn.datasets.ogbn import check_ogb_folder
    from revgnn.memory import measure_peak, mmap_large_blocks, peak_rss_bytes
    from revgnn.training.amp import autocast
    from revgnn.training.checkpoint import load_checkpoint, save_checkpoint
    from revgnn.training.checkpointer import Checkpointer
    from revgnn.training.experiment import prepare
    from revgnn.training.loop import Loop
    from revgnn.training.node_task import node_forward
    from revgnn.training.partition import induced_subgraphs, random_parts
    from revgnn.training.seed import seed_everything

    dataset = preset.split("/")[0]
    values = {"data.root": root}
    if layers is not None:  # a partial rehearsal: the preset at another depth
        values["model.num_layers"] = layers
    recipe = load_recipe(preset).with_values(values)
    if cold:  # parse the raw csv.gz files again, as a first user would
        shutil.rmtree(osp.join(check_ogb_folder(dataset, root), "processed"), ignore_errors=True)
    rec: dict = {"dataset": dataset, "preset": preset.split("/")[1], "steps": steps}
    rec["layers"] = recipe.model.num_layers
    # What the interpreter, torch and PyG hold before any data (about 0.5 GB).
    rec["start_rss_bytes"] = peak_rss_bytes()
    start = time.perf_counter()
    exp = prepare(recipe)
    rec["load_seconds"] = time.perf_counter() - start
    rec["load_from"] = "raw csv.gz" if cold else "OGB's processed cache"
    rec["load_peak_rss_bytes"] = peak_rss_bytes()
    data = exp.dataset.data
    rec["raw_tensor_bytes"] = _graph_bytes(data) + _tensor_bytes(*exp.dataset.split.values())
    rec["load_rss_ratio"] = rec["load_peak_rss_bytes"] / rec["raw_tensor_bytes"]
    rec["load_rss_ratio_above_start"] = (rec["load_peak_rss_bytes"] - rec["start_rss_bytes"]) / rec[
        "raw_tensor_bytes"
    ]
    rec.update(num_nodes=int(data.num_nodes), num_edges=int(data.edge_index.size(1)))
    print(f"{preset}: loaded in {rec['load_seconds']:.0f} s ({rec['load_from']})", flush=True)

    cfg = exp.train_config
    if exp.recipe.run.threads > 0:
        torch.set_num_threads(exp.recipe.run.threads)
    seed_everything(cfg.seed)
    model = exp.build()
    loop = Loop(model, exp.task, cfg)
    rec["num_params"] = loop.num_params
    rec["device"] = str(loop.device)
    start = time.perf_counter()
    # Built up front, as recorded since the first runs: the steps' seconds leave building out.
    batches = list(exp.task.train_batches(1))
    rec["partition_seconds"] = time.perf_counter() - start
    rec["batches_per_epoch"] = len(batches)
    model.train()
    times = []
    for i in range(steps):
        start = time.perf_counter()
        exp.task.step(loop, batches[i % len(batches)])
        times.append(time.perf_counter() - start)
        print(f"  step {i + 1}: {times[-1]:.1f} s", flush=True)
    rec["step_seconds_each"] = times
    if times:
        rec["step_seconds"] = sorted(times[1:] or times)[len(times[1:] or times) // 2]

    # The peak of one more step, counted as the planner counts it.
    batch = batches[steps % len(batches)]
    loop.optimizers.zero_grad()
    rec["peak_rss_bytes_before_profiling"] = peak_rss_bytes()
    if loop.device.type == "cpu":
        mmap_large_blocks()
    start = time.perf_counter()
    _, peak = measure_peak(functools.partial(exp.task.step, loop, batch), loop.device)
    rec["profiled_step_seconds"] = time.perf_counter() - start
    if not times:  # --steps 0: the profiled step is the only one
        rec["step_seconds"] = rec["profiled_step_seconds"]
    state = sum(
        _tensor_bytes(*(v for v in s.values() if torch.is_tensor(v)))
        for opt in loop.optimizers.optimizers.values()
        for s in opt.state.values()
    )
    weights = _tensor_bytes(*model.parameters()) + _tensor_bytes(*model.buffers())
    batch_bytes = _graph_bytes(batch)
    rec["peak_bytes"] = peak.peak_bytes - peak.baseline_bytes + weights + state + batch_bytes
    # Printed at once: a later failure (or a stopped evaluation) must not lose a long step.
    print(f"  profiled step: {rec['profiled_step_seconds']:.0f} s, peak "
          f"{rec['peak_bytes'] / 2**30:.2f} GiB of tensors", flush=True)  # fmt: skip
    rec["batch_nodes"], rec["batch_edges"] = int(batch.num_nodes), int(batch.edge_index.size(1))
    rec.update(in_channels=exp.in_channels, out_channels=exp.out_channels,
               edge_dim=exp.edge_dim, multilabel=exp.dataset.task == "multilabel",
               amp=cfg.amp)  # fmt: skip
    plan(rec, exp.recipe.model, loop.device)
    del batches, batch
    if save is not None:
        save({**rec, "incomplete": "evaluation not reached"})

    # Evaluation: the task's own, or its first part and an extrapolation.
    task = exp.task
    n, parts, views = int(data.num_nodes), task.eval_parts, task.eval_views
    total_parts = 1 if parts == 1 else parts * views
    first = random_parts(n, parts, task.seed, 0)[0] if parts > 1 else torch.arange(n)
    (sub,) = induced_subgraphs(data, [first])
    sub = sub.to(loop.device)
    model.eval()

    def forward_first():
        with torch.no_grad(), autocast(loop.device, cfg.amp):
            return node_forward(model, sub)

    start = time.perf_counter()
    _, eval_peak = measure_peak(forward_first, loop.device)
    first_seconds = time.perf_counter() - start
    rec["eval_part_peak_bytes"] = eval_peak.peak_bytes
    estimate = first_seconds * total_parts
    rec["eval_parts_total"] = total_parts
    if save is not None:
        save({**rec, "eval_seconds": estimate, "eval_parts_run": 1,
              "eval_seconds_extrapolated": True, "incomplete": "evaluation running"})  # fmt: skip
    if estimate <= eval_budget:
        start = time.perf_counter()
        evaluation = task.evaluate(model, loop.device, cfg.amp)
        rec["eval_seconds"] = time.perf_counter() - start
        rec["eval_parts_run"] = total_parts
        rec["eval_scores"] = evaluation.scores
    else:
        rec["eval_seconds"] = estimate
        rec["eval_parts_run"] = 1
        rec["eval_seconds_extrapolated"] = True
    how = "extrapolated from its first part" if rec.get("eval_seconds_extrapolated") else "run"
    print(f"  evaluation: {rec['eval_seconds']:.0f} s ({how})", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, "run.pt")
        checkpointer = Checkpointer(path)
        start = time.perf_counter()
        save_checkpoint(checkpointer.state(loop, 1), path)
        rec["checkpoint_save_seconds"] = time.perf_counter() - start
        rec["checkpoint_bytes"] = os.path.getsize(path)
        start = time.perf_counter()
        checkpointer.restore(loop, load_checkpoint(path))
        rec["checkpoint_load_seconds"] = time.perf_counter() - start

    epoch = rec["partition_seconds"] + rec["batches_per_epoch"] * rec["step_seconds"]
    rec["epoch_seconds_extrapolated"] = epoch
    evals = -(-cfg.epochs // cfg.eval_every)
    rec["run_seconds_extrapolated"] = cfg.epochs * epoch + evals * rec["eval_seconds"]
    rec["epochs"] = cfg.epochs
    rec["peak_rss_bytes"] = peak_rss_bytes()
    rec["threads"] = torch.get_num_threads()
    return rec


def run_one(preset: str, args: argparse.Namespace, cold: bool) -> dict:
    """:func:`rehearse` in a fresh process (its peak RSS is the preset's own)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = osp.join(tmp, "record.json")
        cmd = [sys.executable, __file__, "--worker", preset, "--root", args.root,
               "--steps", str(args.steps), "--eval-budget", str(args.eval_budget),
               *(["--layers", str(args.layers)] if args.layers else []),
               "--out", out] + (["--cold"] if cold else [])  # fmt: skip
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
        except KeyboardInterrupt:  # the worker got the same Ctrl-C: keep what it measured
            proc = subprocess.CompletedProcess(cmd, -2, stderr="interrupted (Ctrl-C)")
        if proc.returncode == 0:
            record = json.loads(Path(out).read_text())
        else:
            tail = proc.stderr.strip().splitlines()[-3:]
            print("\n".join(tail), flush=True)
            dataset, name = preset.split("/")
            code = proc.returncode
            why = ("interrupted" if code == -2
                   else f"killed by signal {-code} (out of memory?)" if code < 0
                   else f"exit status {code}: {' '.join(tail[-1:])}")  # fmt: skip
            # What the worker measured before it stopped (its steps), marked incomplete.
            partial = json.loads(Path(out).read_text()) if osp.exists(out) else {}
            record = {**partial, "dataset": dataset, "preset": name, "error": why}
        record["process_seconds"] = time.perf_counter() - start
        return record


def markdown(records: list[dict]) -> str:
    def gib(v) -> str:
        return "-" if v is None else f"{v / 2**30:.2f}"

    def sec(v) -> str:
        if v is None:
            return "-"
        if v >= 36000:
            return f"{v / 3600:.1f} h"
        return f"{v:.0f} s" if v >= 10 else f"{v:.1f} s"

    lines = [
        "| dataset | preset | layers | N | E (stored) | load (s) | load RSS (GiB, x raw) "
        "| partition (s) "
        "| step (s) | peak (GiB) | planned (GiB, error) | eval (s) | checkpoint save/load (s) "
        "| peak RSS (GiB) | epoch / run (extrapolated) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if "error" in r:
            measured = ""
            if "step_seconds" in r:  # stopped after its steps: what they measured
                measured = (f"; {r['incomplete']}: step {sec(r['step_seconds'])}, peak "
                            f"{gib(r['peak_bytes'])} GiB")  # fmt: skip
            lines.append(f"| {r['dataset']} | {r['preset']} | failed: {r['error']}{measured} |")
            continue
        planned = "-"
        if r.get("planned_peak_bytes") is not None:
            planned = f"{gib(r['planned_peak_bytes'])} ({r['planner_error']:+.0%})"
        evaluation = sec(r["eval_seconds"])
        if r.get("eval_seconds_extrapolated"):
            evaluation += f" (1 of {r['eval_parts_total']} parts run)"
        how = "cold" if r["load_from"].startswith("raw") else "cache"
        lines.append(
            f"| {r['dataset']} | {r['preset']} | {r.get('layers', '-')} | {r['num_nodes']:,} "
            f"| {r['num_edges']:,} "
            f"| {sec(r['load_seconds'])} ({how}) "
            f"| {gib(r['load_peak_rss_bytes'])} ({r['load_rss_ratio']:.1f}x) "
            f"| {r['partition_seconds']:.1f} | {sec(r['step_seconds'])} | {gib(r['peak_bytes'])} "
            f"| {planned} | {evaluation} "
            f"| {r['checkpoint_save_seconds']:.1f} / {r['checkpoint_load_seconds']:.1f} "
            f"| {gib(r['peak_rss_bytes'])} | {sec(r['epoch_seconds_extrapolated'])} / "
            f"{sec(r['run_seconds_extrapolated'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", help="folder of the full-size OGB folders")
    p.add_argument("--write", action="store_true", help="write the folders that are missing")
    p.add_argument(
        "--write-only",
        action="store_true",
        help="write the missing folders of --presets and stop (gpu_suite.sh overlaps this)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the written graphs")
    p.add_argument("--presets", nargs="*", help="dataset/preset names (default: every one)")
    p.add_argument(
        "--steps",
        type=int,
        default=2,
        help="timed training steps per preset (0: only the profiled step, timed; for 1001 layers)",
    )
    p.add_argument(
        "--layers", type=int, help="run the presets at this depth instead (a partial rehearsal)"
    )
    p.add_argument(
        "--eval-budget",
        type=float,
        default=900.0,
        help="run the whole evaluation when its first part says it takes at most this (s)",
    )
    p.add_argument("--json", help="write the records here")
    p.add_argument(
        "--replan",
        metavar="JSON",
        help="make the planner's predictions in a records file again (after a calibration)",
    )
    p.add_argument("--markdown", help="write the table here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.replan:
        print(markdown(replan(args.replan)))
        return
    if args.root is None:
        p.error("--root is required (the folder of the full-size OGB folders)")
    if args.steps < 0:
        p.error(f"--steps {args.steps} must be at least 0")
    if args.worker:

        def save(record: dict) -> None:  # atomically: a kill mid-write leaves the last one
            Path(args.out + ".tmp").write_text(json.dumps(record, indent=1))
            os.replace(args.out + ".tmp", args.out)

        save(rehearse(
            args.worker, args.root, args.steps, args.eval_budget, args.cold, args.layers, save
        ))  # fmt: skip
        return
    chosen = args.presets or presets()
    unknown = sorted(set(chosen) - set(presets()))
    if unknown:
        p.error(f"--presets {' '.join(unknown)}: not OGB presets ({', '.join(presets())})")
    needed = [d for d in DATASETS if any(c.startswith(f"{d}/") for c in chosen)]
    written = write_folders(args.root, args.seed, needed) if args.write or args.write_only else []
    if args.write_only:
        return
    records, loaded = [], set()
    for preset in chosen:
        dataset = preset.split("/")[0]
        records.append(run_one(preset, args, cold=dataset not in loaded))
        loaded.add(dataset)
        if args.json:  # after every preset: a later failure loses nothing
            Path(args.json).write_text(json.dumps({"written": written, "records": records},
                                                  indent=1) + "\n")  # fmt: skip
        if records[-1].get("error") == "interrupted":
            sys.exit(130)
    table = markdown(records)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)


if __name__ == "__main__":
    main()
