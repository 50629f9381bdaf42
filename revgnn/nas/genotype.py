"""An architecture found by a search, as plain data: which operation on which edge.

A :class:`Genotype` lists, for each of a cell's three intermediate nodes, its two incoming
edges as ``(operation, source state)`` (states 0 and 1 are the cell's inputs, state ``i + 2``
is node ``i``); the cell's output concatenates the three nodes. It round-trips through JSON
and builds the evaluation network (:class:`~revgnn.nas.EvalNetwork`); :func:`plot_cell`
draws it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from revgnn.nas.operations import PRIMITIVES
from revgnn.nas.search_cell import STEPS, edge_endpoints

__all__ = ["Genotype", "plot_cell"]

#: The names SGAS's code (and revgnn before 0.3) gives the point GIN and SAGE operations; a
#: genotype file written with them loads as the same operations.
SGAS_NAMES = {"gin": "point_gin", "sage": "point_sage"}


@dataclass(frozen=True)
class Genotype:
    """``nodes[i]``: the ``(operation, source state)`` edges into intermediate node ``i``."""

    nodes: tuple[tuple[tuple[str, int], ...], ...]
    meta: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(self.nodes) != STEPS:
            raise ValueError(f"a genotype has {STEPS} nodes, got {len(self.nodes)}")
        for i, edges in enumerate(self.nodes):
            for op, state in edges:
                if op not in PRIMITIVES or op == "none":
                    raise ValueError(f"node {i}: {op!r} is not an operation of the search space")
                if not 0 <= state < i + 2:
                    raise ValueError(f"node {i} cannot read state {state} (only 0..{i + 1})")

    @classmethod
    def from_selection(cls, selected: Tensor, meta: dict | None = None) -> Genotype:
        """The genotype of a fully decided search (``selected``: an operation index per edge,
        ``0`` for pruned edges)."""
        if bool((selected < 0).any()):
            raise ValueError("the search left edges undecided: it has no genotype yet")
        nodes: list[list[tuple[str, int]]] = [[] for _ in range(STEPS)]
        for edge, state, node in edge_endpoints():
            if int(selected[edge]) > 0:
                nodes[node].append((PRIMITIVES[int(selected[edge])], state))
        return cls(tuple(tuple(n) for n in nodes), dict(meta or {}))

    def selection(self) -> Tensor:
        """The inverse of :meth:`from_selection`."""
        out = torch.zeros(sum(2 + i for i in range(STEPS)), dtype=torch.long)
        for edge, state, node in edge_endpoints():
            for op, s in self.nodes[node]:
                if s == state:
                    out[edge] = PRIMITIVES.index(op)
        return out

    def to_json(self) -> str:
        nodes = [[[op, state] for op, state in edges] for edges in self.nodes]
        return json.dumps({"nodes": nodes, "meta": self.meta}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        """The genotype of :meth:`to_json`'s text (SGAS's operation names also accepted)."""
        data = json.loads(text)
        nodes = tuple(
            tuple((SGAS_NAMES.get(op, op), int(s)) for op, s in edges) for edges in data["nodes"]
        )
        return cls(nodes, data.get("meta", {}))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Genotype:
        return cls.from_json(Path(path).read_text())

    def __str__(self) -> str:
        return "; ".join(
            f"n{i + 2} <- " + ", ".join(f"{op}(s{s})" for op, s in edges)
            for i, edges in enumerate(self.nodes)
        )


def plot_cell(genotype: Genotype, path: str | Path, title: str = "") -> None:
    """Draw the cell: the inputs, the three nodes, an arrow per edge labelled with its
    operation, and the output (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pos = {0: (0.0, 1.0), 1: (0.0, 0.0), 2: (1.2, 1.3), 3: (2.2, 0.4), 4: (3.2, 1.1)}
    out = (4.3, 0.6)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, edges in enumerate(genotype.nodes):
        for op, s in edges:
            (x0, y0), (x1, y1) = pos[s], pos[i + 2]
            ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "0.3"})
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, op, fontsize=8, ha="center", color="tab:blue")
        ax.annotate("", out, pos[i + 2], arrowprops={"arrowstyle": "->", "color": "0.7"})
    for state, (x, y) in pos.items():
        label = f"s{state}" if state < 2 else f"n{state}"
        ax.text(x, y, label, ha="center", va="center", bbox={"boxstyle": "circle", "fc": "w"})
    ax.text(*out, "concat", ha="center", va="center", bbox={"boxstyle": "round", "fc": "w"})
    ax.set_xlim(-0.4, 4.9)
    ax.set_ylim(-0.4, 1.7)
    ax.axis("off")
    ax.set_title(title or str(genotype), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
