import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.models.point_net import PointNet
from revgnn.training import TrainConfig, seed_everything, train
from revgnn.training.lazy_batches import LazyBatches
from revgnn.training.partition import epoch_generator
from revgnn.training.point_cloud_task import PointCloudTask, augment_clouds
from tests.helpers import deep_gcn


@pytest.fixture(scope="module")
def textures():
    return load_dataset("synthetic-textures", num_clouds=40, num_points=32)


@pytest.fixture(scope="module")
def parts():
    return load_dataset("synthetic-texture-parts", num_clouds=20, num_points=32)


def small(ds, backbone="rev"):
    task = "classification" if ds.task == "classification" else "part"
    return deep_gcn(3, ds.num_classes, task=task, num_blocks=3, channels=8, backbone=backbone,
                   k=4, emb_dims=16, stochastic=True)  # fmt: skip


def test_two_ranks_plans_agree_and_name_the_augmentation(textures):
    from revgnn.training.distributed import batch_digests

    digests = []
    for seed in (0, 0, 1):
        task = PointCloudTask(textures, batch_size=8)
        task.setup(torch.device("cpu"), seed)
        batches = task.train_batches(1)
        assert batches.planned
        digests.append(batch_digests(batches))
    assert digests[0] == digests[1] and digests[0] != digests[2]
    task.augment = False  # the same clouds without augmentation draws: another plan
    assert batch_digests(task.train_batches(1)) != digests[2]


def test_batches_depend_on_seed_and_epoch_only_and_are_augmented(textures):
    task = PointCloudTask(textures, batch_size=8)
    task.setup(torch.device("cpu"), seed=1)
    a, b = task.train_batches(3), task.train_batches(3)
    assert all(torch.equal(x.x, y.x) and torch.equal(x.y, y.y) for x, y in zip(a, b))
    assert not torch.equal(a[0].x, task.train_batches(4)[0].x)
    assert sum(len(batch.y) for batch in a) == 32
    # augmentation moves the points: no batch cloud equals a stored one
    assert not any(torch.equal(a[0].x[0], c) for c in textures.x)


def test_batches_are_augmented_when_read_as_one_pass_over_the_epoch_draws_them(textures):
    task = PointCloudTask(textures, batch_size=12)
    task.setup(torch.device("cpu"), seed=2)
    lazy = task.train_batches(5)
    assert isinstance(lazy, LazyBatches) and len(lazy) == 3  # 32 clouds: 12, 12, 8
    gen = epoch_generator(2, 5)  # the eager pass: one generator through every batch in turn
    idx = textures.split["train"]
    idx = idx[torch.randperm(len(idx), generator=gen)]
    eager = [augment_clouds(textures.x[p], textures.y[p], gen) for p in idx.split(12)]
    for k in (2, 0, 1, 2):  # any order, any number of times
        assert torch.equal(lazy[k].x, eager[k][0]) and torch.equal(lazy[k].y, eager[k][1])


def test_augmentation_keeps_point_labels_with_their_points():
    gen = torch.Generator().manual_seed(0)
    x = torch.arange(12.0).view(1, 4, 3)
    y = torch.tensor([[0, 1, 2, 3]])
    ax, ay = augment_clouds(x, y, gen)
    # shuffled points and labels stay paired: each label still sits with its own point
    for i in range(4):
        original = x[0, ay[0, i]]
        ratio = (ax[0, i] - ax[0, :, :].mean(0)) / (original - x[0].mean(0) + 1e-9)
        assert bool((ratio > 0.6).all() & (ratio < 1.6).all())


@pytest.mark.parametrize("fixture", ["textures", "parts"])
def test_one_epoch_trains_and_scores_every_split(fixture, request):
    ds = request.getfixturevalue(fixture)
    seed_everything(0)
    result = train(small(ds), PointCloudTask(ds, 8), TrainConfig(epochs=1, lr=1e-3, progress=False))
    record = result.history[-1]
    assert record["epoch"] == 1 and 0.0 <= result.test_metric <= 1.0
    others = ("acc", "macc") if ds.task == "segmentation" else ("macc", "miou")
    assert all(f"test_{k}" in record for k in others)
    assert result.peak_bytes > 0


class Killed(PointNet):
    """Dies at the start of epoch ``die_at`` (a kill in the middle of a run)."""

    die_at = None

    def epoch_start(self, epoch):
        if epoch == self.die_at:
            raise KeyboardInterrupt


def test_resume_after_a_kill_continues_the_schedule_and_ends_like_an_uninterrupted_run(
    textures, tmp_path
):
    def run(resume, die_at=None):
        seed_everything(0)
        model = Killed(3, textures.num_classes, emb_dims=32)
        model.die_at = die_at
        cfg = TrainConfig(epochs=4, lr=0.1, optimizer="sgd", scheduler="cosine", lr_min=1e-3,
                          progress=False, checkpoint=str(tmp_path / "c.pt"), checkpoint_every=1,
                          resume=resume, overwrite=True)  # fmt: skip
        return train(model, PointCloudTask(textures, 8), cfg)

    full = run(False)
    with pytest.raises(KeyboardInterrupt):
        run(False, die_at=3)
    resumed = run(True)
    assert resumed.resumed_from == 2
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in full.history[2:]]
    assert resumed.test_metric == full.test_metric and resumed.final_loss == full.final_loss


def test_a_model_returning_the_wrong_shape_is_named(textures):
    task = PointCloudTask(textures, 8)
    batch = task.train_batches(1)[0]
    with pytest.raises(ValueError, match=r"the model returned \[8, 32, 7\] for labels \[8\]"):
        task.loss(torch.zeros(8, 32, 7), batch, 0.0)


def test_part_segmentation_with_categories_selects_on_the_per_shape_iou(parts):
    import dataclasses

    half = parts.num_classes // 2
    cats = torch.arange(parts.x.size(0)) % 2
    ds = dataclasses.replace(
        parts,
        y=torch.where(cats.unsqueeze(1) == 0, parts.y % half, half + parts.y % half),
        metric="instance_miou",
        categories=cats,
        category_parts=[list(range(half)), list(range(half, 2 * half))],
        split=dict(parts.split),
    )
    seed_everything(0)
    result = train(small(ds), PointCloudTask(ds, 8), TrainConfig(epochs=1, lr=1e-3, progress=False))
    record = result.history[-1]
    assert record["test_instance_miou"] == result.test_metric
    assert 0.0 < record["test_class_miou"] <= 1.0 and "test_miou" in record


@pytest.mark.parametrize("fixture", ["textures", "parts"])
def test_the_prior_loss_is_the_least_loss_of_a_prediction_shared_by_every_cloud(fixture, request):
    ds = request.getfixturevalue(fixture)
    task = PointCloudTask(ds, batch_size=len(ds.split["train"]))
    task.setup(torch.device("cpu"), 0)
    (batch,) = task.train_batches(1)
    y = ds.y[ds.split["train"]]
    freq = torch.bincount(y.reshape(-1), minlength=ds.num_classes).double() / y.numel()

    def shared_loss(logits):  # one prediction for every cloud (point), through the task's loss
        out = logits.float().expand(*batch.y.shape, -1)
        return task.loss(out, batch, 0.1)[0].item()

    prior = task.prior_loss(0.1)
    assert shared_loss((0.9 * freq + 0.1 / ds.num_classes).log()) == pytest.approx(prior, rel=1e-5)
    for seed in range(3):
        logits = torch.randn(ds.num_classes, generator=torch.Generator().manual_seed(seed))
        assert shared_loss(logits) > prior
