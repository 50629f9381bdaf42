"""What input validation costs: training steps of the default model with the checks on and off.

revgnn checks every public module's input once per call at the outermost boundary (edge_index
shape, dtype and range, feature shape and finiteness; :mod:`revgnn.utils.checks`).
``REVGNN_VALIDATE=0`` or :func:`revgnn.utils.checks.set_validation` turns the checks off.
This script times full training steps (forward, backward, Adam) of the library's default
RevGNN on the bundled Cora, alternating on and off so that both see the same machine load,
and reports the median step of each and the relative difference.

    python benchmarks/validation_cost.py --layers 64 --steps 40 --json validation_cost.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--layers", type=int, default=64)
    p.add_argument("--steps", type=int, default=40, help="timed steps per setting")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json")
    args = p.parse_args(argv)

    from revgnn import ModelConfig, build_model
    from revgnn.datasets import load_dataset
    from revgnn.utils.checks import set_validation

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ds = load_dataset("cora")
    model = build_model(ModelConfig(num_layers=args.layers), ds.num_features, ds.num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x, edge_index, y = ds.data.x, ds.data.edge_index, ds.data.y
    train = ds.split["train"]

    def step() -> float:
        start = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x, edge_index)[train], y[train])
        loss.backward()
        opt.step()
        return time.perf_counter() - start

    for _ in range(3):  # warm-up
        step()
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for _ in range(args.steps):
            for enabled in (True, False):
                set_validation(enabled)
                times[enabled].append(step())
    finally:
        set_validation(True)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    record = {
        "layers": args.layers,
        "threads": args.threads,
        "steps": args.steps,
        "step_s_validation_on": on,
        "step_s_validation_off": off,
        "cost": (on - off) / off,
    }
    print(json.dumps(record, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
