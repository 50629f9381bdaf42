from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator

import torch
from torch import Tensor


@contextlib.contextmanager
def reaped(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """``proc``, killed and reaped on the way out if it still runs (a timed-out wait leaves it
    running): a child left training would slow every later test down."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def signal_when(
    proc: subprocess.Popen, ready: Callable[[], bool], sig: int, timeout: float = 240.0
) -> None:
    """Send ``sig`` to ``proc`` as soon as ``ready()`` holds (polled every 50 ms); nothing
    if the child ends or ``timeout`` seconds pass first (the caller's assertions then fail)."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if ready():
            proc.send_signal(sig)
            return
        time.sleep(0.05)


def lines_in(path) -> int:
    """The number of lines of a file (0 while it does not exist yet)."""
    return len(path.read_text().splitlines()) if path.exists() else 0


def rel_err(a: Tensor, b: Tensor) -> float:
    """||a - b|| / ||b||, in float64."""
    a, b = a.detach().double(), b.detach().double()
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


def random_graph(num_nodes: int, num_edges: int, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_nodes, (2, num_edges), generator=g)


# The node models as the tests build them: the paper recipes' models (RevGNN-Deep's blocks,
# DEQ-GNN-64's cell, DeeperGCN's ResGCN+) at the test's sizes, through revgnn.build_model.
PAPER_MODELS = {
    "revgnn": "ogbn-proteins/revgnn-deep",
    "wt-revgnn": "ogbn-proteins/wt-revgnn",
    "deq-gnn": "ogbn-proteins/deq-gnn",
    "deeper-gcn": "ogbn-proteins/deeper-gcn",
}


def node_model(
    model: str,
    in_channels: int,
    hidden_channels: int,
    out_channels: int,
    num_layers: int,
    edge_dim: int | None = None,
    reversible: bool = True,
    **settings,
):
    """``model`` of the paper recipe, at these sizes, with ``settings`` (ModelConfig fields;
    ``conv_options`` replaces the recipe's when the conv changes)."""
    from dataclasses import replace

    from revgnn import build_model, load_recipe

    base = load_recipe(PAPER_MODELS[model]).model
    if settings.get("conv_options", {}) is None:
        settings["conv_options"] = {}
    if "conv" in settings and "conv_options" not in settings:
        settings["conv_options"] = {}
    if "conv_options" in settings and settings.get("conv", base.conv) == base.conv:
        settings["conv_options"] = {**base.conv_options, **settings["conv_options"]}
    cfg = replace(base, hidden_channels=hidden_channels, num_layers=num_layers, **settings)
    net = build_model(cfg, in_channels, out_channels, edge_dim)
    if not reversible:
        net.reversible = False
    return net


def _sizes(sizes: tuple, settings: dict) -> list:
    names = ("in_channels", "hidden_channels", "out_channels", "num_layers")
    out = list(sizes)
    for name in names[len(sizes) :]:
        out.append(settings.pop(name))
    return out


def rev_gnn(*sizes, weight_tied: bool = False, **settings):
    name = "wt-revgnn" if weight_tied else "revgnn"
    return node_model(name, *_sizes(sizes, settings), **settings)


def deq_gnn(*sizes, **settings):
    if "block" in settings:
        settings["deq_cell"] = settings.pop("block")
    return node_model("deq-gnn", *_sizes(sizes, settings), **settings)


def deeper_gcn(*sizes, **settings):
    return node_model("deeper-gcn", *_sizes(sizes, settings), **settings)


def deep_gcn(in_channels: int, out_channels: int, **settings):
    """A DeepGCN of PointModelConfig ``settings`` (``num_blocks`` / ``channels`` as the old
    names of ``num_layers`` / ``hidden_channels``)."""
    from revgnn import PointModelConfig, build_model

    names = {"num_blocks": "num_layers", "channels": "hidden_channels", "chunk_size": "knn_chunk"}
    defaults = {"task": "segmentation", "k": 16, "stochastic": False, "dropout": 0.3,
                "head_bias": True}  # fmt: skip
    values = {**defaults, **{names.get(k, k): v for k, v in settings.items()}}
    return build_model(PointModelConfig(**values), in_channels, out_channels)
