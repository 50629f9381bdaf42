r"""Measure the memory and time of a training step, one configuration per fresh process.

For each configuration (a :class:`revgnn.memory.kinds.Config`: model kind, depth, width,
groups, aggregation, precision, graph sizes) the profiler starts ``python -m
revgnn.profiling.profile`` with the configuration as JSON, which builds the model and a graph, runs
training steps through the trainer's own :func:`~revgnn.training.step.train_step` (forward,
loss, backward, Adam step) and prints one JSON record on stdout:

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
:func:`revgnn.memory.plot.plot_depth` draws memory versus depth, one line per model.
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from revgnn.datasets.node_dataset import NodeDataset
from revgnn.memory.kinds import Config, build_model
from revgnn.memory.peak import measure_peak, mmap_large_blocks, peak_rss_bytes
from revgnn.memory.plan import predict
from revgnn.memory.saved import SavedBytes, saved_activation_bytes
from revgnn.training.node_task import NodeTask
from revgnn.training.step import train_step

__all__ = [
    "Graph",
    "load_graph",
    "machine_info",
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

    def as_dataset(self) -> NodeDataset:
        """Every node in every split: a step trains on the whole graph."""
        from torch_geometric.data import Data

        data = Data(x=self.x, edge_index=self.edge_index, y=self.y)
        if self.edge_attr is not None:
            data.edge_attr = self.edge_attr
        every = torch.arange(self.x.size(0), device=self.x.device)
        split = {"train": every, "valid": every, "test": every}
        if self.multilabel:
            return NodeDataset("graph", data, split, self.y.size(-1), "multilabel", "rocauc")
        return NodeDataset("graph", data, split, int(self.y.max()) + 1, "multiclass", "acc")


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
    """A real graph: ``"cora"`` (bundled with revgnn, :func:`revgnn.datasets.load_cora`) or
    the path of a graph file as ``revgnn train`` reads it (:mod:`revgnn.datasets.graph_file`:
    a ``torch.save``'d PyG ``Data`` or dict of tensors, or an ``.npz``; read with
    ``weights_only=True``)."""
    from revgnn.datasets import load_cora, load_dataset

    if dataset.lower() in _BUNDLED:
        data = load_cora().data
    elif Path(dataset).is_file():
        data = load_dataset(dataset).data
    else:
        raise ValueError(
            f"dataset={dataset!r} is neither a bundled dataset ({list(_BUNDLED)}) nor a graph "
            "file (.pt / .pth / .npz: revgnn.datasets.graph_file)"
        )
    y = data.y if data.y.dim() == 1 or data.y.size(-1) > 1 else data.y.view(-1)
    # Time and memory, not accuracy, are measured: an unlabelled node (-1) counts as class 0.
    y = y.float() if y.dim() == 2 else y.clamp_min(0)
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
    runner = _StepRunner(cfg, graph.to(dev), dev, seed)
    first = runner.timed_step()  # also the warm-up: Adam state, lazy initialisation
    times = [runner.timed_step() for _ in range(timed_steps)]
    rss = peak_rss_bytes()
    runner.optimizer.zero_grad(set_to_none=True)
    if dev.type == "cpu":
        mmap_large_blocks()
    _, peak = measure_peak(lambda: runner.step(measure_saved=True), dev)
    return {
        "config": cfg.as_dict(),
        "device": dev.type,
        "num_parameters": sum(p.numel() for p in runner.model.parameters()),
        "saved_bytes": runner.saved[0].total,
        "peak_bytes": peak.peak_bytes,
        "baseline_bytes": peak.baseline_bytes,
        "peak_rss_bytes": rss,
        "step_seconds": sorted(times)[len(times) // 2] if times else first,
        "first_step_seconds": first,
    }


class _StepRunner:
    """One configuration's model, optimiser and batch, and its training step: timed, or with
    its saved activations counted."""

    def __init__(self, cfg: Config, graph: Any, dev: torch.device, seed: int) -> None:
        self.cfg, self.dev = cfg, dev
        self.model = build_model(cfg).to(dev)
        self.model.train()
        self.task = NodeTask(graph.as_dataset())
        self.task.setup(dev, seed)
        (self.batch,) = self.task.train_batches(1)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.scaler = torch.amp.GradScaler(dev.type, enabled=cfg.amp == "fp16")
        self.exclude = [self.model, graph.x, graph.edge_index]
        if graph.edge_attr is not None:
            self.exclude.append(graph.edge_attr)
        self.saved: list[SavedBytes] = []

    def count_saved(self, forward: Callable[[], Tensor]) -> Tensor:
        out, counted = saved_activation_bytes(forward, exclude=self.exclude)
        self.saved.append(counted)
        return out

    def step(self, measure_saved: bool = False) -> None:
        # Gradients are dropped before, not inside, a measured step: the CPU profiler cannot
        # see the release of memory allocated before it started.
        train_step(
            self.model,
            self.task,
            self.batch,
            self.optimizer,
            self.scaler,
            device=self.dev,
            amp=self.cfg.amp,
            grad_clip=None,
            record_forward=self.count_saved if measure_saved else None,
        )

    def _sync(self) -> None:
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)

    def timed_step(self) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        self._sync()
        t0 = time.perf_counter()
        self.step()
        self._sync()
        return time.perf_counter() - t0


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
    """Run :func:`profile_config` in a fresh ``python -m revgnn.profiling.profile`` process.

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
    cmd = [sys.executable, "-m", "revgnn.profiling.profile", json.dumps(request)]
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

    A configuration whose predicted peak (:func:`revgnn.memory.plan.predict`) exceeds
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
        predicted = predict(cfg, device=device).total
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


def _main(argv: Sequence[str]) -> int:
    # The child process: one configuration in, one JSON record out on stdout.
    global _STDOUT
    if len(argv) != 1:
        print("usage: python -m revgnn.profiling.profile '<json request>'", file=sys.stderr)
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
