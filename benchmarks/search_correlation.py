"""Does the search phase rank architectures as their evaluation does? SGAS (Criterion 1 and 2)
against DARTS, and LC-NAS at two latency targets.

For every dataset and method, ``--searches`` independent searches (seeds 0, 1, ...): each
searches a cell (architecture steps on one half of the training split), then the found cell
is trained from scratch as a larger evaluation network on the real split. Per method: the
Kendall tau between the search scores (held-out accuracy at the end of the search) and the
evaluation test accuracies, their mean and std, and the search cost. LC-NAS: SGAS Criterion 2
on the point clouds under two latency targets (fractions of the unconstrained supernet's
expected latency); accuracy against the measured latency of the chosen cells.

Datasets: the synthetic textured-surface clouds (generated) and a real node-classification
graph (default the bundled Cora, re-split at random 60/20/20 so that both halves of the training
split hold enough labels; ``--graph citeseer --root <data>`` for another). SGAS's paper
searches for 50 epochs with 32 channels and evaluates 9 cells x 128 channels; this CPU run is
smaller (the defaults below) and uses a larger architecture learning rate (``--arch-lr``) so
that the architecture weights move in a few epochs.

    python benchmarks/search_correlation.py --json benchmarks/results/search_correlation.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

from common import save_plot, write_records

METHODS = (("darts", None), ("sgas", 1), ("sgas", 2))


def arguments(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--searches", type=int, default=10, help="independent searches per method")
    p.add_argument("--datasets", nargs="+", default=["points", "graph"])
    p.add_argument("--graph", default="cora", help="node dataset of the 'graph' runs")
    p.add_argument("--root", default=None)
    p.add_argument("--num-clouds", type=int, default=300)
    p.add_argument("--num-points", type=int, default=128)
    p.add_argument("--k", type=int, default=9)
    p.add_argument("--channels", type=int, default=8, help="search network width")
    p.add_argument("--cells", type=int, default=1, help="search network cells")
    p.add_argument("--warmup", type=int, default=3, help="points: epochs before a decision")
    p.add_argument("--decision-every", type=int, default=1, help="points: epochs between")
    p.add_argument("--graph-warmup", type=int, default=10)
    p.add_argument("--graph-decision-every", type=int, default=4)
    p.add_argument("--arch-lr", type=float, default=3e-3)
    p.add_argument("--eval-channels", type=int, default=16)
    p.add_argument("--eval-cells", type=int, default=2)
    p.add_argument("--eval-epochs-points", type=int, default=15)
    p.add_argument("--eval-epochs-graph", type=int, default=100)
    p.add_argument(
        "--latency-fractions",
        type=float,
        nargs="*",
        default=[0.1, 0.2],
        help="LC-NAS targets, as fractions of the uniform supernet's expected latency",
    )
    p.add_argument("--latency-searches", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=Path("benchmarks/results/search_correlation.json"))
    return p.parse_args(argv)


def kendall_tau(x: list[float], y: list[float]) -> float | None:
    """Kendall's tau-b (ties in either ranking counted as neither concordant nor discordant);
    ``None`` when either ranking is constant."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = ((concordant + discordant + ties_x) * (concordant + discordant + ties_y)) ** 0.5
    return None if denom == 0 else (concordant - discordant) / denom


class Setting:
    """The data, tasks and network shapes of one dataset."""

    def __init__(self, name: str, args: argparse.Namespace) -> None:
        import torch

        from revgnn.datasets import load_dataset
        from revgnn.nas import LatencyTable
        from revgnn.nn.knn import dilated_knn, neighbors_to_edge_index

        self.table = None

        self.name, self.args = name, args
        if name == "points":
            self.ds = load_dataset(
                "synthetic-textures", num_clouds=args.num_clouds, num_points=args.num_points
            )
            self.features, self.kind = self.ds.num_features, "points"
            clouds = self.ds.x[:16]
            self.nodes = clouds.size(0) * clouds.size(1)
            self.graph = neighbors_to_edge_index(dilated_knn(clouds, args.k, 1))
            self.net = {"task": "points", "k": args.k, "emb_dims": 64}
            self.table = LatencyTable.measure(self.nodes, args.channels, self.graph, args.cells)
            self.eval_epochs, self.eval_lr, self.eval_wd = args.eval_epochs_points, 1e-3, 0.0
            self.schedule = (args.warmup, args.decision_every)
        else:
            ds = load_dataset(args.graph, args.root)
            perm = torch.randperm(ds.num_nodes, generator=torch.Generator().manual_seed(0))
            a, b = int(0.6 * ds.num_nodes), int(0.8 * ds.num_nodes)
            split = {"train": perm[:a], "valid": perm[a:b], "test": perm[b:]}
            self.ds = dataclasses.replace(ds, split=split, split_info="random 60/20/20, seed 0")
            self.features, self.kind = self.ds.data.x.size(1), "nodes"
            self.nodes, self.graph = self.ds.num_nodes, self.ds.data.edge_index
            self.net = {"task": "nodes"}
            self.eval_epochs, self.eval_lr, self.eval_wd = args.eval_epochs_graph, 0.01, 5e-4
            self.schedule = (args.graph_warmup, args.graph_decision_every)

    def tasks(self, seed: int):
        from revgnn.nas import split_for_search
        from revgnn.training.node_task import NodeTask
        from revgnn.training.point_cloud_task import PointCloudTask

        w, a = split_for_search(self.ds, seed)
        if self.kind == "points":
            return PointCloudTask(w, 16), PointCloudTask(a, 16), PointCloudTask(self.ds, 16)
        return NodeTask(w, "random", 2), NodeTask(a, "random", 2), NodeTask(self.ds)

    def run(self, method: str, criterion: int | None, seed: int, target=None):
        from revgnn import SearchConfig, TrainConfig, load_recipe
        from revgnn.nas import SearchNetwork, measure_cells, search, train_genotype
        from revgnn.training import seed_everything

        a = self.args
        seed_everything(seed)
        wt, at, et = self.tasks(seed)
        model = SearchNetwork(
            self.features, self.ds.num_classes, channels=a.channels, num_cells=a.cells, **self.net
        )
        cfg = SearchConfig(
            method=method,
            criterion=criterion or 2,
            warmup=self.schedule[0],
            decision_every=self.schedule[1],
            arch_lr=a.arch_lr,
            latency_target=target,
        )
        recipe = load_recipe("search/sgas")
        weights = TrainConfig.of(
            recipe.optim, recipe.run, device="cpu", seed=seed, progress=False,
            lr=0.005 if self.kind == "points" else 0.05,
        )  # fmt: skip
        found = search(model, wt, at, cfg, weights, latency=self.table)
        seed_everything(seed)
        start = time.perf_counter()
        trained = train_genotype(
            found.genotype,
            et,
            self.features,
            self.ds.num_classes,
            TrainConfig(epochs=self.eval_epochs, lr=self.eval_lr, seed=seed, progress=False,
                        weight_decay=self.eval_wd, eval_every=max(1, self.eval_epochs // 10)),
            {**self.net, "channels": a.eval_channels, "num_cells": a.eval_cells},
        )  # fmt: skip
        record = {
            "dataset": self.name if self.kind == "points" else a.graph,
            "method": method,
            "criterion": criterion,
            "seed": seed,
            "genotype": str(found.genotype),
            "search_score": found.score,
            "search_seconds": found.seconds,
            "eval_valid": trained.valid_metric,
            "eval_test": trained.test_metric,
            "eval_seconds": time.perf_counter() - start,
        }
        if target is not None:
            record["latency_target_ms"] = target
        if self.table is not None:
            record["expected_latency_ms"] = found.expected_latency
            record["measured_latency_ms"] = measure_cells(
                found.genotype, self.nodes, a.channels, self.graph, a.cells
            )
        print(json.dumps(record), flush=True)
        return record


def summarise(records: list[dict]) -> dict:
    out = {}
    for dataset in sorted({r["dataset"] for r in records if "latency_target_ms" not in r}):
        for method, criterion in METHODS:
            rs = [
                r
                for r in records
                if r["dataset"] == dataset
                and r["method"] == method
                and r["criterion"] == criterion
                and "latency_target_ms" not in r
            ]
            if not rs:
                continue
            test = [r["eval_test"] for r in rs]
            key = f"{dataset}/{method}" + (f"-cri{criterion}" if criterion else "")
            out[key] = {
                "searches": len(rs),
                "kendall_tau": kendall_tau([r["search_score"] for r in rs], test),
                "eval_test_mean": statistics.mean(test),
                "eval_test_std": statistics.stdev(test) if len(test) > 1 else 0.0,
                "search_seconds_mean": statistics.mean(r["search_seconds"] for r in rs),
                "distinct_genotypes": len({r["genotype"] for r in rs}),
            }
            if "measured_latency_ms" in rs[0]:
                out[key]["measured_latency_ms_mean"] = statistics.mean(
                    r["measured_latency_ms"] for r in rs
                )
    for target in sorted({r["latency_target_ms"] for r in records if "latency_target_ms" in r}):
        rs = [r for r in records if r.get("latency_target_ms") == target]
        out[f"lcnas/target={target:.2f}ms"] = {
            "searches": len(rs),
            "eval_test_mean": statistics.mean(r["eval_test"] for r in rs),
            "measured_latency_ms_mean": statistics.mean(r["measured_latency_ms"] for r in rs),
            "under_target": sum(r["measured_latency_ms"] <= target for r in rs),
        }
    return out


def draw(records: list[dict], summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plain = [r for r in records if "latency_target_ms" not in r]
    datasets = sorted({r["dataset"] for r in plain})
    fig, axes = plt.subplots(1, len(datasets) + 1, figsize=(5 * (len(datasets) + 1), 4))
    for ax, dataset in zip(axes, datasets):
        for (method, criterion), marker in zip(METHODS, "os^"):
            rs = [r for r in plain if r["dataset"] == dataset and r["method"] == method
                  and r["criterion"] == criterion]  # fmt: skip
            key = f"{dataset}/{method}" + (f"-cri{criterion}" if criterion else "")
            tau = summary.get(key, {}).get("kendall_tau")
            label = f"{key.split('/')[1]} (tau {tau:.2f})" if tau is not None else key
            ax.scatter([r["search_score"] for r in rs], [r["eval_test"] for r in rs],
                       marker=marker, label=label)  # fmt: skip
        ax.set_xlabel("search score (held-out half of train)")
        ax.set_ylabel("evaluation test accuracy")
        ax.set_title(dataset)
        ax.legend(fontsize=8)
    lat = [r for r in records if "latency_target_ms" in r]
    ax = axes[-1]
    for target in sorted({r["latency_target_ms"] for r in lat}):
        rs = [r for r in lat if r["latency_target_ms"] == target]
        ax.scatter([r["measured_latency_ms"] for r in rs], [r["eval_test"] for r in rs],
                   label=f"target {target:.1f} ms")  # fmt: skip
        ax.axvline(target, ls=":", color="0.5")
    ax.set_xlabel("measured latency of the cells (ms)")
    ax.set_ylabel("evaluation test accuracy")
    ax.set_title("LC-NAS (points, SGAS criterion 2)")
    if lat:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    args = arguments(argv)
    import torch

    from revgnn.nas import PRIMITIVES

    torch.set_num_threads(args.threads)
    records: list[dict] = []
    for name in args.datasets:
        if name not in ("points", "graph"):
            raise SystemExit(f"--datasets takes 'points' and 'graph', not {name!r}")
        setting = Setting(name, args)
        for method, criterion in METHODS:
            for seed in range(args.searches):
                records.append(setting.run(method, criterion, seed))
                write_records(args.json, {"records": records})
        if name == "points" and args.latency_fractions:
            table = setting.table
            uniform = args.cells * (table.pre + sum(table.ops[o] for o in PRIMITIVES) * 9 / 10)
            for fraction in args.latency_fractions:
                for seed in range(args.latency_searches):
                    rec = setting.run("sgas", 2, seed, fraction * uniform)
                    rec["latency_fraction"] = fraction
                    records.append(rec)
                    write_records(args.json, {"records": records})
    summary = summarise(records)
    result = {"settings": vars(args) | {"json": str(args.json)}, "records": records,
              "summary": summary}  # fmt: skip
    write_records(args.json, result)
    print(json.dumps(summary, indent=1))
    save_plot(draw, records, summary, args.json.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
