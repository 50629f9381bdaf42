r"""Graph-level prediction (OGB's ``ogbg-*`` molecule sets): loading, a graph model and training.

:func:`revgnn.train.train` fits node-level tasks on one graph; a graph-level task needs a
loop over mini-batches of graphs, which this module adds, with the same settings
(:class:`~revgnn.train.TrainConfig`: epochs, lr, weight decay, gradient clipping, seed,
device, best-valid selection) and the same result (:class:`~revgnn.train.TrainResult`):

* :func:`load_ogbg` loads an ``ogbg-*`` folder through OGB's ``PygGraphPropPredDataset``
  offline (the scoped ``safe_globals`` and stdin guard of :mod:`revgnn.datasets.ogb`);
* :class:`GraphPredictor` turns any node model of the package (``node_encoder``,
  ``edge_encoder`` and a linear ``head``) into a graph model: OGB's ``AtomEncoder`` /
  ``BondEncoder`` replace the linear encoders, and the per-node logits are mean-pooled.
  As the head is linear, pooling its output equals applying it to the pooled node states
  (DeeperGCN's ``graph_pred_linear(mean_pool(h))``);
* :func:`train_graphs` trains with binary cross-entropy on the labelled tasks (NaN targets
  are skipped, as in OGB's examples) and scores with OGB's ``Evaluator``.
"""

from __future__ import annotations

import math
import os.path as osp
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import global_mean_pool
from tqdm.auto import tqdm

from revgnn.memory import measure_peak, peak_rss_bytes
from revgnn.train import TrainConfig, TrainResult, seed_everything

__all__ = ["GraphPredictor", "evaluate_graphs", "graph_leaderboard", "load_ogbg", "train_graphs"]

#: Training steps of the first epoch whose peak of live tensor bytes is measured on CPU
#: (the profiler slows them down ~1.5x).
PEAK_STEPS = 20


def load_ogbg(name: str, root: str) -> tuple[Any, dict[str, Tensor]]:
    """Load ``ogbg-<name>`` from ``root`` (the folder holding ``ogbg_<name>/``) offline.

    Returns OGB's ``PygGraphPropPredDataset`` and its split (``train``/``valid``/``test``).
    ``processed/`` is written next to ``raw/`` on the first load, so load from a copy when
    the folder must stay read-only.
    """
    from ogb.graphproppred import dataset_pyg

    from revgnn.datasets.ogb import _ogb_guard, _refuse_input

    folder = osp.join(root, name.replace("-", "_"))
    if not osp.isdir(osp.join(folder, "raw")):
        raise FileNotFoundError(
            f"{name}: no OGB folder {folder}/raw; extract OGB's {name} zip so that "
            f"{folder}/raw/*.csv.gz and {folder}/split/ exist"
        )
    if not osp.exists(osp.join(folder, "RELEASE_v1.txt")):
        raise FileNotFoundError(
            f"{name}: {folder} lacks RELEASE_v1.txt, so ogb would ask on stdin whether to "
            f"delete it; if the folder is complete, create it (touch {folder}/RELEASE_v1.txt)"
        )
    dataset_pyg.input = _refuse_input  # the graph loader has its own prompt
    try:
        with _ogb_guard():
            ds = dataset_pyg.PygGraphPropPredDataset(name, root=root)
            split = ds.get_idx_split()
    finally:
        del dataset_pyg.input
    return ds, {k: v.long() for k, v in split.items()}


class GraphPredictor(nn.Module):
    r"""A node model of the package as a molecule (graph-level) model.

    .. math::

        \mathbf{y}_G = \frac{1}{|G|} \sum_{v \in G} f(\mathrm{Atom}(\mathbf{x}),
        \mathbf{A}, \mathrm{Bond}(\mathbf{e}))_v

    Args:
        model (nn.Module): A :class:`~revgnn.models.DeeperGCN` or
            :class:`~revgnn.models.RevGNN` (any model with ``node_encoder`` and
            ``edge_encoder`` attributes and a linear head), built with ``edge_dim`` set
            (any value) so that it has an edge path; its ``out_channels`` are the tasks.
        hidden_channels (int): The model's width (the encoders' output).

    Shapes:
        - **input:** ``x`` long :math:`(N, 9)` atom features, ``edge_index`` :math:`(2, E)`,
          ``edge_attr`` long :math:`(E, 3)` bond features, ``batch`` :math:`(N,)`
        - **output:** :math:`(B, T)` logits
    """

    def __init__(self, model: nn.Module, hidden_channels: int) -> None:
        super().__init__()
        from ogb.graphproppred.mol_encoder import AtomEncoder, BondEncoder

        if getattr(model, "edge_encoder", None) is None:
            raise ValueError("model must be built with edge_dim set so that it has an edge_encoder")
        model.node_encoder = AtomEncoder(hidden_channels)
        model.edge_encoder = BondEncoder(hidden_channels)
        self.model = model

    def reset_parameters(self) -> None:
        self.model.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor) -> Tensor:
        return global_mean_pool(self.model(x, edge_index, edge_attr), batch)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.model!r})"


def _step_loss(model: nn.Module, batch: Any) -> Tensor | None:
    out = model(batch.x, batch.edge_index, batch.edge_attr, batch.batch)
    y = batch.y.float().view(out.shape)
    labelled = ~torch.isnan(y)
    if not labelled.any():
        return None
    return F.binary_cross_entropy_with_logits(out[labelled], y[labelled])


@torch.no_grad()
def evaluate_graphs(model: nn.Module, loader: Any, evaluator: Any, device: torch.device) -> float:
    """OGB's metric (``evaluator.eval_metric``) of ``model`` on the graphs of ``loader``."""
    model.eval()
    preds, ys = [], []
    for batch in loader:
        batch = batch.to(device)
        preds.append(model(batch.x, batch.edge_index, batch.edge_attr, batch.batch).cpu())
        ys.append(batch.y.view(preds[-1].shape).cpu())
    result = evaluator.eval({"y_true": torch.cat(ys), "y_pred": torch.cat(preds)})
    return float(result[evaluator.eval_metric])


def train_graphs(
    model: nn.Module,
    dataset: Any,
    split: dict[str, Tensor],
    config: TrainConfig | None = None,
    *,
    batch_size: int = 32,
    name: str | None = None,
) -> TrainResult:
    """Train ``model`` on an OGB graph dataset; return the best-valid scores (weights loaded).

    Args:
        model (nn.Module): ``forward(x, edge_index, edge_attr, batch) -> (B, T)`` logits,
            e.g. a :class:`GraphPredictor`.
        dataset: OGB's ``PygGraphPropPredDataset`` (binary tasks, ROC-AUC or AP).
        split (dict): ``train``/``valid``/``test`` graph indices.
        config (TrainConfig, optional): ``epochs``, ``lr``, ``weight_decay``, ``grad_clip``,
            ``eval_every``, ``seed``, ``device`` and ``progress`` apply.
        batch_size (int): Graphs per step. (default: ``32``)
        name (str, optional): Dataset name for OGB's ``Evaluator`` (default:
            ``dataset.name``).
    """
    from ogb.graphproppred import Evaluator
    from torch_geometric.loader import DataLoader

    cfg = config or TrainConfig()
    name = name or dataset.name
    evaluator = Evaluator(name)
    device = torch.device(cfg.device)
    model.to(device)
    gen = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(
        dataset[split["train"]], batch_size=batch_size, shuffle=True, generator=gen
    )
    eval_loaders = {
        part: DataLoader(dataset[idx], batch_size=batch_size * 8) for part, idx in split.items()
    }
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    num_params = sum(p.numel() for p in model.parameters())

    def train_steps(batches: list[Any]) -> tuple[float, int]:
        total, count = 0.0, 0
        for batch in batches:
            batch = batch.to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = _step_loss(model, batch)
            if loss is None:
                continue
            loss.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            total += float(loss.detach()) * batch.num_graphs
            count += batch.num_graphs
        return total, count

    best: dict[str, Any] = {"epoch": 0, "valid": -math.inf, "train": math.nan, "test": math.nan}
    best_state, peak_bytes, elapsed, loss = None, 0, 0.0, math.nan
    history: list[dict[str, Any]] = []
    bar = tqdm(range(1, cfg.epochs + 1), desc=name, disable=not cfg.progress, unit="epoch")
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        batches = iter(train_loader)
        total = count = 0.0
        if epoch == 1:  # peak memory of the first steps (free on CUDA, profiled on CPU)
            first = [b for _, b in zip(range(PEAK_STEPS), batches, strict=False)]
            (total, count), peak = measure_peak(lambda f=first: train_steps(f), device)
            peak_bytes = peak.peak_bytes
        rest_total, rest_count = train_steps(batches)
        loss = (total + rest_total) / max(count + rest_count, 1)
        record: dict[str, Any] = {"epoch": epoch, "loss": loss}
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
            scores = {
                part: evaluate_graphs(model, loader, evaluator, device)
                for part, loader in eval_loaders.items()
            }
            record.update({f"{k}_{evaluator.eval_metric}": v for k, v in scores.items()})
            if scores["valid"] > best["valid"]:
                best = {"epoch": epoch, **scores}
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        elapsed += time.perf_counter() - t0
        record["seconds"] = elapsed
        history.append(record)
        bar.set_postfix({"loss": f"{loss:.4f}", "best_test": f"{best['test']:.4f}"})
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return TrainResult(
        dataset=name,
        metric=evaluator.eval_metric,
        epochs=cfg.epochs,
        best_epoch=int(best["epoch"]),
        train_metric=float(best["train"]),
        valid_metric=float(best["valid"]),
        test_metric=float(best["test"]),
        final_loss=float(loss),
        num_params=num_params,
        peak_bytes=int(peak_bytes),
        peak_rss_bytes=peak_rss_bytes(),
        seconds=float(elapsed),
        seed=cfg.seed,
        history=history,
    )


def graph_leaderboard(
    build_model: Callable[[], nn.Module],
    dataset: Any,
    split: dict[str, Tensor],
    config: TrainConfig,
    runs: int,
    *,
    batch_size: int = 32,
    name: str = "model",
) -> dict[str, Any]:
    """Train ``runs`` seeds (``config.seed``, ``+1``, ...) with :func:`train_graphs`; the
    summary has the keys of :func:`revgnn.train.leaderboard` (mean ± std of valid and test)."""
    if runs < 1:
        raise ValueError(f"runs={runs} must be at least 1")
    results = []
    for r in range(runs):
        cfg = replace(config, seed=config.seed + r)
        seed_everything(cfg.seed)
        results.append(train_graphs(build_model(), dataset, split, cfg, batch_size=batch_size))
    valid = torch.tensor([r.valid_metric for r in results], dtype=torch.float64)
    test = torch.tensor([r.test_metric for r in results], dtype=torch.float64)
    return {
        "model": name,
        "dataset": results[0].dataset,
        "metric": results[0].metric,
        "runs": runs,
        "valid_mean": float(valid.mean()),
        "valid_std": float(valid.std()) if runs > 1 else 0.0,
        "test_mean": float(test.mean()),
        "test_std": float(test.std()) if runs > 1 else 0.0,
        "num_params": results[0].num_params,
        "peak_bytes": max(r.peak_bytes for r in results),
        "seconds_mean": sum(r.seconds for r in results) / runs,
        "per_run": [r.as_dict() for r in results],
    }
