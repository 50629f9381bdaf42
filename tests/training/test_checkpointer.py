import os

import pytest
import torch

from revgnn.training import CheckpointError, NodeTask, TrainConfig, seed_everything, train
from revgnn.training.checkpointer import MUST_MATCH, Checkpointer
from tests.helpers import rev_gnn


def run(ds, **cfg):
    seed_everything(0)
    model = rev_gnn(ds.num_features, 8, ds.num_classes, 2)
    return train(model, ds, TrainConfig(progress=False, **cfg))


def test_a_resume_with_other_settings_is_refused_naming_the_flags(tiny_graph, tmp_path):
    ckpt = str(tmp_path / "run.pt")
    run(tiny_graph, epochs=2, checkpoint=ckpt)
    with pytest.raises(CheckpointError, match=r"written with --lr 0.01 --seed 0; this run has "
                                              r"--lr 0.02 --seed 3"):  # fmt: skip
        run(tiny_graph, epochs=3, checkpoint=ckpt, resume=True, lr=0.02, seed=3)
    with pytest.raises(CheckpointError, match="--optimizer adam; this run has --optimizer sgd"):
        run(tiny_graph, epochs=3, checkpoint=ckpt, resume=True, optimizer="sgd")
    with pytest.raises(CheckpointError, match=r"--block-weight-decay auto; this run has "
                                              r"--block-weight-decay 0\.01"):  # fmt: skip
        run(tiny_graph, epochs=3, checkpoint=ckpt, resume=True, block_weight_decay=0.01)
    # The kept weights were chosen on the metric: the loss may not choose from here on.
    with pytest.raises(CheckpointError, match="--select-on metric; this run has --select-on lo"):
        run(tiny_graph, epochs=3, checkpoint=ckpt, resume=True, select_on="loss")
    # "auto" and what it resolves to for the same model are the same setting: GENConv blocks
    # get no block decay, and the encoder of a 2-layer model the weight decay.
    same = {"block_weight_decay": None, "weight_decay_on": "encoder.node"}
    assert run(tiny_graph, epochs=2, checkpoint=ckpt, resume=True, **same).resumed_from == 2
    # More epochs continue the run (a constant schedule does not depend on them).
    assert run(tiny_graph, epochs=3, checkpoint=ckpt, resume=True).resumed_from == 2
    with pytest.raises(CheckpointError, match="--scheduler none; this run has --scheduler cos"):
        run(tiny_graph, epochs=3, checkpoint=ckpt, resume=True, scheduler="cosine")
    cosine = str(tmp_path / "cosine.pt")
    run(tiny_graph, epochs=2, checkpoint=cosine, scheduler="cosine")
    with pytest.raises(CheckpointError, match="--epochs 2; this run has --epochs 5"):
        run(tiny_graph, epochs=5, checkpoint=cosine, resume=True, scheduler="cosine")
    assert {"lr", "seed", "optimizer", "amp"} <= set(MUST_MATCH)


def test_a_resume_on_other_data_is_refused(tiny_graph, tmp_path):
    ckpt = str(tmp_path / "run.pt")
    run(tiny_graph, epochs=1, checkpoint=ckpt)
    seed_everything(0)
    model = rev_gnn(tiny_graph.num_features, 8, tiny_graph.num_classes, 2)
    task = NodeTask(tiny_graph, partition="random", num_parts=2)
    cfg = TrainConfig(epochs=2, checkpoint=ckpt, resume=True, progress=False)
    with pytest.raises(CheckpointError, match="was written for the task NodeTask"):
        train(model, task, cfg)


def test_a_folder_is_refused_and_no_temporary_file_is_left(tiny_graph, tmp_path):
    folder = tmp_path / "ckpts"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"--checkpoint .*ckpts is a folder"):
        run(tiny_graph, epochs=1, checkpoint=str(folder))
    assert os.listdir(folder) == [] and os.listdir(tmp_path) == ["ckpts"]
    assert repr(Checkpointer("a.pt", 3)) == "Checkpointer('a.pt', every=3)"
    ckpt = tmp_path / "c.pt"
    run(tiny_graph, epochs=1, checkpoint=str(ckpt))
    assert sorted(os.listdir(tmp_path)) == ["c.pt", "ckpts"]
    assert torch.load(ckpt, weights_only=True)["config"]["epochs"] == 1
