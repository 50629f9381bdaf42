r"""Measure the memory and time of a training step, one configuration per fresh process.

For each configuration (a :class:`revgnn.plan.Config`: model kind, depth, width, groups,
aggregation, precision, graph sizes) the profiler starts ``python -m revgnn.profile`` with the
configuration as JSON, which builds the model and a graph, runs training steps (forward, loss,
backward, Adam step) and prints one JSON record on stdout:

* ``saved_bytes``: bytes of the tensors one forward pass keeps for the backward pass
  (:func:`revgnn.memory.saved_activation_bytes`; parameters and the input graph excluded);
* ``peak_bytes``: peak bytes of one training step (:func:`revgnn.memory.measure_peak`): on CUDA
  the allocator's peak, on CPU the peak of live tensor bytes, both counting everything alive
  (weights, Adam state, graph) plus what the step allocates;
* ``peak_rss_bytes``: the process's peak resident set size after the unprofiled steps (the whole
  process: allocator caching included);
* ``step_seconds``: wall time of one unprofiled step (after a warm-up step).

A fresh process per configuration makes the RSS figure meaningful and keeps one configuration's
allocator state from leaking into the next. :func:`sweep` runs many with a progress bar;
:func:`plot` draws memory versus depth, one line per model.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from revgnn.memory import (
    SavedBytes,
    measure_peak,
    mmap_large_blocks,
    peak_rss_bytes,
    saved_activation_bytes,
)
from revgnn.plan import MODEL_KINDS, Config, build_model, predict

__all__ = [
    "Graph",
    "load_graph",
    "machine_info",
    "plot",
    "profile_config",
    "profile_in_subprocess",
    "sweep",
    "synthetic_graph",
]


@dataclass
class Graph:
    """A graph to train on: features, edges, optional edge features, targets."""

    x: Tensor
    edge_index: Tensor
    edge_attr: Tensor | None
    y: Tensor

    @property
    def multilabel(self) -> bool:
        return self.y.dim() == 2

    def to(self, device: torch.device | str) -> Graph:
        ea = self.edge_attr.to(device) if self.edge_attr is not None else None
        return Graph(self.x.to(device), self.edge_index.to(device), ea, self.y.to(device))


def synthetic_graph(cfg: Config, seed: int = 0) -> Graph:
    """A random graph with ``cfg``'s sizes: uniform random edges, Gaussian features, and
    random 0/1 multi-label targets (``cfg.multilabel``) or class labels."""
    g = torch.Generator().manual_seed(seed)
    n = cfg.num_nodes
    edge_index = torch.randint(0, n, (2, cfg.num_edges), generator=g)
    x = torch.randn(n, cfg.in_channels, generator=g)
    edge_attr = None
    if cfg.edge_dim is not None:
        edge_attr = torch.randn(cfg.num_edges, cfg.edge_dim, generator=g)
    if cfg.multilabel:
        y = (torch.rand(n, cfg.out_channels, generator=g) < 0.5).float()
    else:
        y = torch.randint(0, cfg.out_channels, (n,), generator=g)
    return Graph(x, edge_index, edge_attr, y)


_BUNDLED = ("cora",)


def load_graph(dataset: str) -> Graph:
    """A real graph: ``"cora"`` (bundled with revgnn, :func:`revgnn.datasets.real.load_cora`)
    or the path of a file holding a :class:`torch_geometric.data.Data` saved with
    ``torch.save`` (``x``, ``edge_index``, ``y``, optional ``edge_attr``)."""
    if dataset.lower() in _BUNDLED:
        from revgnn.datasets.real import load_cora

        data = load_cora().data
    elif Path(dataset).is_file():
        data = torch.load(dataset, weights_only=False)
    else:
        raise ValueError(
            f"dataset={dataset!r} is neither a bundled dataset ({list(_BUNDLED)}) nor a file "
            "holding a torch_geometric Data saved with torch.save"
        )
    y = data.y if data.y.dim() == 1 or data.y.size(-1) > 1 else data.y.view(-1)
    if y.dim() == 2:
        y = y.float()
    return Graph(data.x.float(), data.edge_index, getattr(data, "edge_attr", None), y)


def graph_config(cfg: Config, graph: Graph) -> Config:
    """``cfg`` with the sizes of ``graph``."""
    edge_dim = graph.edge_attr.size(-1) if graph.edge_attr is not None else None
    out = graph.y.size(-1) if graph.multilabel else int(graph.y.max()) + 1
    return cfg.with_(
        num_nodes=graph.x.size(0),
        num_edges=graph.edge_index.size(1),
        in_channels=graph.x.size(-1),
        out_channels=out,
        edge_dim=edge_dim,
        multilabel=graph.multilabel,
    )


_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@contextlib.contextmanager
def _rss_guard(limit_bytes: int | None) -> Iterator[None]:
    """Exit the process (status 3, a JSON error on stdout) once its peak RSS passes the limit,
    so that one configuration cannot take the machine's memory from others."""
    if not limit_bytes:
        yield
        return
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            if peak_rss_bytes() > limit_bytes:
                _emit({"error": f"peak RSS passed the memory limit of {limit_bytes} bytes"})
                os._exit(3)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


_STDOUT = sys.stdout


def _emit(record: dict[str, Any]) -> None:
    _STDOUT.write(json.dumps(record) + "\n")
    _STDOUT.flush()


def profile_config(
    cfg: Config,
    *,
    device: str = "cpu",
    seed: int = 0,
    dataset: str | None = None,
    timed_steps: int = 1,
) -> dict[str, Any]:
    """Measure one configuration in this process (see the module docstring).

    Call it in a fresh process for a meaningful ``peak_rss_bytes`` (:func:`profile_in_subprocess`
    does). With ``dataset`` the graph sizes of ``cfg`` are replaced by the dataset's.

    Returns:
        dict: ``config``, ``num_parameters``, ``saved_bytes``, ``peak_bytes``,
        ``baseline_bytes``, ``peak_rss_bytes``, ``step_seconds``, ``device``.
    """
    if timed_steps < 0:
        raise ValueError(f"timed_steps={timed_steps} must be non-negative")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but CUDA is not available")
    torch.manual_seed(seed)
    if dataset is not None:
        graph = load_graph(dataset)
        cfg = graph_config(cfg, graph)
    else:
        graph = synthetic_graph(cfg, seed)
    graph = graph.to(dev)
    model = build_model(cfg).to(dev)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = (
        torch.nn.functional.binary_cross_entropy_with_logits
        if graph.multilabel
        else torch.nn.functional.cross_entropy
    )
    amp = _AMP_DTYPES.get(cfg.amp) if cfg.amp else None

    def autocast() -> contextlib.AbstractContextManager:
        if amp is None:
            return contextlib.nullcontext()
        return torch.autocast(dev.type, dtype=amp)

    def forward() -> Tensor:
        with autocast():
            return model(graph.x, graph.edge_index, graph.edge_attr)

    exclude = [model, graph.x, graph.edge_index]
    if graph.edge_attr is not None:
        exclude.append(graph.edge_attr)
    saved: list[SavedBytes] = []

    # Gradients are dropped before, not inside, a measured step: the CPU profiler cannot see
    # the release of memory allocated before it started.
    def step(count_saved: bool = False) -> None:
        if count_saved:
            out, counted = saved_activation_bytes(forward, exclude=exclude)
            saved.append(counted)
        else:
            out = forward()
        loss = loss_fn(out.float(), graph.y)
        del out
        loss.backward()
        optimizer.step()

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def timed_step() -> float:
        optimizer.zero_grad(set_to_none=True)
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        return time.perf_counter() - t0

    first = timed_step()  # also the warm-up: Adam state, lazy initialisation
    times = [timed_step() for _ in range(timed_steps)]
    rss = peak_rss_bytes()
    optimizer.zero_grad(set_to_none=True)
    if dev.type == "cpu":
        mmap_large_blocks()
    _, peak = measure_peak(lambda: step(count_saved=True), dev)
    return {
        "config": cfg.as_dict(),
        "device": dev.type,
        "num_parameters": sum(p.numel() for p in model.parameters()),
        "saved_bytes": saved[0].total,
        "peak_bytes": peak.peak_bytes,
        "baseline_bytes": peak.baseline_bytes,
        "peak_rss_bytes": rss,
        "step_seconds": sorted(times)[len(times) // 2] if times else first,
        "first_step_seconds": first,
    }


def profile_in_subprocess(
    cfg: Config,
    *,
    device: str = "cpu",
    seed: int = 0,
    dataset: str | None = None,
    timed_steps: int = 1,
    memory_limit: int | None = None,
    timeout: float | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Run :func:`profile_config` in a fresh ``python -m revgnn.profile`` process.

    Args:
        memory_limit (int, optional): The child exits once its peak RSS passes this many bytes.
        timeout (float, optional): Seconds before the child is killed.
        threads (int, optional): ``torch.set_num_threads`` in the child.

    Returns:
        dict: the child's record, or ``{"config": ..., "error": reason}`` if it failed, with
        ``process_seconds``: the child's whole wall time (start-up, model, every step).
    """
    request = {
        "config": cfg.as_dict(),
        "device": device,
        "seed": seed,
        "dataset": dataset,
        "timed_steps": timed_steps,
        "memory_limit": memory_limit,
        "threads": threads,
    }
    cmd = [sys.executable, "-m", "revgnn.profile", json.dumps(request)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"config": cfg.as_dict(), "device": device, "error": f"timed out after {timeout} s"}
    wall = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    record = json.loads(lines[-1]) if lines else {}
    if not (record and (proc.returncode == 0 or "error" in record)):
        tail = proc.stderr.strip().splitlines()[-3:]
        record = {"error": f"exit status {proc.returncode}: " + " | ".join(tail)}
    record.setdefault("config", cfg.as_dict())
    record.setdefault("device", device)
    record["process_seconds"] = wall
    return record


def sweep(
    configs: Iterable[Config],
    *,
    device: str = "cpu",
    seed: int = 0,
    dataset: str | None = None,
    timed_steps: int = 1,
    memory_limit: int | None = None,
    timeout: float | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Profile each configuration in its own process, in order, with a progress bar.

    A configuration whose predicted peak (:func:`revgnn.plan.predict`) exceeds
    ``memory_limit`` is not run: its record says ``"skipped"``. Every record carries the
    planner's ``predicted_bytes``. With ``dataset`` the sizes of the configurations are the
    dataset's.
    """
    from tqdm import tqdm

    configs = list(configs)
    if dataset is not None:
        graph = load_graph(dataset)
        configs = [graph_config(cfg, graph) for cfg in configs]
    results = []
    bar = tqdm(configs, desc="profile", unit="config", disable=not progress, file=sys.stderr)
    for cfg in bar:
        bar.set_postfix_str(f"{cfg.kind} L={cfg.num_layers} D={cfg.hidden_channels}")
        predicted = predict(cfg).total
        if memory_limit and predicted > memory_limit:
            record = {
                "config": cfg.as_dict(),
                "device": device,
                "skipped": f"predicted peak {predicted / 2**30:.2f} GiB exceeds the memory limit "
                f"of {memory_limit / 2**30:.2f} GiB",
            }
        else:
            record = profile_in_subprocess(
                cfg,
                device=device,
                seed=seed,
                dataset=dataset,
                timed_steps=timed_steps,
                memory_limit=memory_limit,
                timeout=timeout,
                threads=threads,
            )
        record["predicted_bytes"] = predicted
        results.append(record)
    return results


def machine_info(device: str = "cpu") -> dict[str, Any]:
    """What the figures were measured on."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "device": device,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    with contextlib.suppress(ImportError):
        import torch_geometric

        info["torch_geometric"] = torch_geometric.__version__
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def series_label(record: dict[str, Any], varying: Sequence[str] = ()) -> str:
    """Legend entry of a record: the model's label plus the settings that vary in the sweep."""
    cfg = record["config"]
    parts = [MODEL_KINDS[cfg["kind"]].label]
    names = {"hidden_channels": "D", "num_groups": "C", "amp": "amp", "aggr": "aggr"}
    for key in varying:
        if key == "num_groups" and not MODEL_KINDS[cfg["kind"]].grouped:
            continue
        value = cfg[key] if not (key == "amp" and cfg[key] is None) else "fp32"
        parts.append(f"{names.get(key, key)}={value}")
    return " ".join(parts)


def plot(results: Sequence[dict[str, Any]], path: str | Path, title: str | None = None) -> None:
    """Memory versus depth, one line per model (and per width / groups / precision when those
    vary): peak bytes of a step, peak RSS (CPU), and saved-activation bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import (
        FuncFormatter,
        LogLocator,
        NullFormatter,
        NullLocator,
        ScalarFormatter,
    )

    ok = [r for r in results if "peak_bytes" in r]
    depths = sorted({r["config"]["num_layers"] for r in ok})
    keys = ("hidden_channels", "num_groups", "amp", "aggr")
    varying = [k for k in keys if len({str(r["config"][k]) for r in ok}) > 1]
    panels = [("peak_bytes", "peak bytes of a training step")]
    if any(r.get("device") == "cpu" for r in ok):
        panels.append(("peak_rss_bytes", "peak RSS of the process"))
    panels.append(("saved_bytes", "saved activations of a forward pass"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    series: dict[str, list[dict[str, Any]]] = {}
    for r in ok:
        series.setdefault(series_label(r, varying), []).append(r)
    for ax, (key, name) in zip(axes[0], panels):
        for label, rs in series.items():
            pts = sorted((r["config"]["num_layers"], r[key]) for r in rs if r.get(key))
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, [y / 2**20 for y in ys], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
        ax.yaxis.set_major_formatter(plain)
        low, high = ax.get_ylim()
        # Within a decade or so only minor ticks carry values: label them too.
        ax.yaxis.set_minor_formatter(plain if high / low < 20 else NullFormatter())
        ax.set_xticks(depths)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("depth (layers)")
        ax.set_ylabel("MiB")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _main(argv: Sequence[str]) -> int:
    # The child process: one configuration in, one JSON record out on stdout.
    global _STDOUT
    if len(argv) != 1:
        print("usage: python -m revgnn.profile '<json request>'", file=sys.stderr)
        return 2
    request = json.loads(argv[0])
    if request.get("threads"):
        torch.set_num_threads(int(request["threads"]))
    cfg = Config(**request["config"])
    # Library output (warnings, progress) must not mix with the JSON record.
    _STDOUT = sys.stdout
    sys.stdout = sys.stderr
    with _rss_guard(request.get("memory_limit")):
        try:
            record = profile_config(
                cfg,
                device=request.get("device", "cpu"),
                seed=request.get("seed", 0),
                dataset=request.get("dataset"),
                timed_steps=request.get("timed_steps", 1),
            )
        except (RuntimeError, ValueError, MemoryError) as e:
            _emit({"config": cfg.as_dict(), "error": f"{type(e).__name__}: {e}"})
            return 1
    _emit(record)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
