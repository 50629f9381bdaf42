"""Data-parallel training (``torch.distributed`` + DDP) against single-process training.

Two CPU processes (gloo, localhost) are started with ``torch.multiprocessing`` the way
``torchrun`` starts them: ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` in the environment, the process group joined by :func:`revgnn.train`.

Equivalence. With :math:`P` ranks and :math:`K` batches per epoch (a multiple of
:math:`P`), step :math:`s` of an epoch runs batch :math:`r + sP` on rank :math:`r`; DDP
replaces every rank's gradient by the mean :math:`\\frac1P \\sum_r g_{r+sP}` before the
(identical) clipping and Adam step. The single-process reference takes the same steps: for
each :math:`s` it back-propagates :math:`\\ell_{r+sP} / P` for every :math:`r` (the
gradients accumulate to the same mean), clips and steps. Dropout is off so the forward
passes are deterministic; the norm is LayerNorm, whose only state is parameters.
"""

from __future__ import annotations

import json
import os
import socket
import time

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from revgnn.datasets import synthetic_dataset
from revgnn.training import NodeTask, TrainConfig, seed_everything, train
from revgnn.training.distributed import shard_batches
from revgnn.training.loss import prediction_loss
from revgnn.training.partition import make_partitioner
from tests.helpers import deq_gnn, rel_err, rev_gnn

WORLD = 2
EPOCHS = 2
PARTS = 4
TIMEOUT_S = 150

pytestmark = pytest.mark.skipif(
    not dist.is_available() or not dist.is_gloo_available(), reason="needs gloo"
)


def _dataset():
    return synthetic_dataset("proteins", 160, 6.0, seed=0)


def _build(kind: str, ds) -> nn.Module:
    seed_everything(3)
    common = dict(edge_dim=ds.edge_dim, norm="layer", dropout=0.0)
    if kind == "rev":
        model = rev_gnn(ds.num_features, 16, ds.num_classes, 3, num_groups=2, **common)
    else:
        model = deq_gnn(ds.num_features, 16, ds.num_classes, 1, max_iter=10, tol=1e-4, **common)
    model.__class__ = type(f"Snap{type(model).__name__}", (_Snapshot, type(model)), {})
    return model


class _Snapshot:
    """Keeps the parameters after every epoch's training, before train() broadcasts the best
    weights at the end (which would make the ranks agree whatever happened before)."""

    def log_metrics(self) -> dict[str, float]:
        self.snapshot = {k: p.detach().clone() for k, p in self.named_parameters()}
        return {}


CASES = {
    # name: (model, partition, resumed: killed after epoch 1 and resumed from its checkpoint)
    "rev-random": ("rev", "random", True),
    "deq-metis": ("deq", "metis", False),
}


def _task(ds, partition: str) -> NodeTask:
    return NodeTask(ds, partition=partition, num_parts=PARTS)


def _config(tmp: str, name: str, **kw) -> TrainConfig:
    return TrainConfig(
        epochs=kw.pop("epochs", EPOCHS),
        eval_every=EPOCHS,
        lr=0.01,
        weight_decay=0.0,
        block_weight_decay=None,
        grad_clip=1.0,
        seed=7,
        progress=False,
        checkpoint=os.path.join(tmp, f"{name}.ckpt"),
        checkpoint_every=1,
        log_path=os.path.join(tmp, f"{name}.jsonl"),
        **kw,
    )


def _worker(rank: int, port: int, tmp: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(WORLD),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    ds = _dataset()
    out = {}
    for name, (kind, partition, resumed) in CASES.items():
        if resumed:  # the first run stops after epoch 1, as if killed; the second resumes
            train(_build(kind, ds), _task(ds, partition), _config(tmp, name, epochs=1))
        model = _build(kind, ds)
        result = train(model, _task(ds, partition), _config(tmp, name, resume=resumed))
        out[name] = {
            "snapshot": model.snapshot,
            "final": model.state_dict(),
            "valid": result.valid_metric,
        }
    torch.save(out, os.path.join(tmp, f"rank{rank}.pt"))
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What each of the two ranks returned: parameters after the last epoch, and more."""
    tmp = str(tmp_path_factory.mktemp("ddp"))
    ctx = mp.start_processes(
        _worker, args=(_free_port(), tmp), nprocs=WORLD, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not ctx.join(timeout=max(deadline - time.monotonic(), 0.1)):
            if time.monotonic() > deadline:
                pytest.fail(f"the {WORLD} training processes did not finish in {TIMEOUT_S} s")
    finally:
        for p in ctx.processes:
            if p.is_alive():
                p.kill()
    out = [torch.load(os.path.join(tmp, f"rank{r}.pt"), weights_only=True) for r in range(WORLD)]
    return out, tmp


def _reference(kind: str, partition: str) -> dict[str, torch.Tensor]:
    """Single process, same steps: each step averages the gradients of the P ranks' batches."""
    ds = _dataset()
    model = _build(kind, ds)
    cfg = _config("unused", "ref")
    parts = make_partitioner(ds.data, partition, PARTS, cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    train_mask = torch.zeros(ds.num_nodes, dtype=torch.bool)
    train_mask[ds.split["train"]] = True
    model.train()
    for epoch in range(1, EPOCHS + 1):
        batches = parts.batches(epoch)
        shares = [shard_batches(batches, r, WORLD) for r in range(WORLD)]
        for step in range(PARTS // WORLD):
            opt.zero_grad(set_to_none=True)
            for r in range(WORLD):
                b = shares[r][step]
                mask = train_mask[b.n_id]
                out = model(b.x, b.edge_index, b.edge_attr)
                (prediction_loss(out[mask], b.y[mask], ds.task) / WORLD).backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
    return {k: p.detach().clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("case", list(CASES))
def test_ranks_hold_identical_parameters(ranks, case):
    out, _ = ranks
    a, b = out[0][case]["snapshot"], out[1][case]["snapshot"]
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("case", list(CASES))
def test_ddp_equals_single_process_mean_gradient(ranks, case):
    # Reversible stack (one custom autograd Function returning the parameter gradients) and
    # DEQ (implicit gradient through an adjoint solve): both must reach DDP's reducer, or the
    # ranks' steps would not be the mean-gradient steps of the reference. "rev-random" was
    # resumed after epoch 1, the reference ran uninterrupted: resume works under DDP too.
    out, _ = ranks
    kind, partition, _ = CASES[case]
    ref = _reference(kind, partition)
    got = out[0][case]["snapshot"]
    init = {k: p.detach() for k, p in _build(kind, _dataset()).named_parameters()}
    assert got.keys() == ref.keys()
    for k in ref:
        assert not torch.equal(ref[k], init[k]) or not ref[k].requires_grad, k  # it trained
        assert rel_err(got[k], ref[k]) < 1e-5, (k, rel_err(got[k], ref[k]))


def test_ranks_end_with_rank0_best_weights_and_rank0_files(ranks):
    out, tmp = ranks
    for case in CASES:
        final0, final1 = out[0][case]["final"], out[1][case]["final"]
        assert all(torch.equal(final0[k], final1[k]) for k in final0)
        assert out[0][case]["valid"] == out[1][case]["valid"]
        with open(os.path.join(tmp, f"{case}.jsonl")) as f:
            epochs = [json.loads(line)["epoch"] for line in f]
        assert epochs == list(range(1, EPOCHS + 1))  # rank 0 alone logs, once per epoch
        ckpt = torch.load(os.path.join(tmp, f"{case}.ckpt"), weights_only=True)
        # The checkpoint holds the plain module (no "module." prefix): it loads single-process.
        snap = out[0][case]["snapshot"]
        assert ckpt["epoch"] == EPOCHS and ckpt["model"].keys() >= snap.keys()
        assert all(torch.equal(ckpt["model"][k], snap[k]) for k in snap)


def test_partitions_must_split_equally_between_ranks():
    with pytest.raises(ValueError, match="5 batches per epoch cannot be shared equally"):
        shard_batches(list(range(5)), 0, 2)
    assert shard_batches(list(range(6)), 1, 3) == [1, 4]
    with pytest.raises(ValueError, match=r"rank=3 must lie in \[0, world_size=2\)"):
        shard_batches(list(range(4)), 3, 2)


def test_cli_refuses_a_partition_the_ranks_cannot_share(monkeypatch, capsys):
    from revgnn.cli import main

    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun --nproc_per_node=2 sets it
    argv = ["train", "--dataset", "synthetic-proteins", "--nodes", "100", "--no-progress"]
    assert main([*argv, "--partition", "random", "--parts", "3"]) == 2
    assert "--parts 3 cannot be shared by 2 processes" in capsys.readouterr().err
    assert main([*argv, "--partition", "full"]) == 2
    assert "full-batch training does not split" in capsys.readouterr().err


def test_whole_rounds_cuts_to_a_multiple_of_the_group(monkeypatch):
    from revgnn.training import distributed

    batches = list(range(7))
    assert distributed.whole_rounds(batches) == batches  # no process group
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: True)
    monkeypatch.setattr(distributed.dist, "get_world_size", lambda: 3)
    assert distributed.whole_rounds(batches) == [0, 1, 2, 3, 4, 5]
    assert distributed.whole_rounds([0, 1]) == [0, 1]  # fewer than one round: all of them


def test_ranks_compare_lazy_batches_by_their_plans_without_building_them():
    from revgnn.training.distributed import batch_digests
    from revgnn.training.lazy_batches import LazyBatches, collated

    built = []

    def collate(xs):
        built.append(xs)
        return torch.tensor(xs)

    items = list(range(10))
    a = batch_digests(collated(items, [[3, 0], [1, 2]], collate))
    assert built == [] and len(a) == 2
    assert a == batch_digests(collated(items, [[3, 0], [1, 2]], collate))
    assert a != batch_digests(collated(items, [[0, 3], [1, 2]], collate))  # another order
    # Batches without a plan are built and their tensors compared.
    plain = LazyBatches(2, lambda k: torch.full((2,), float(k)))
    assert batch_digests(plain) != batch_digests(LazyBatches(2, lambda k: torch.zeros(2)))
