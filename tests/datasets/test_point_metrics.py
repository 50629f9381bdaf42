import math

import pytest
import torch

from revgnn.datasets.point_metrics import ConfusionMatrix, micro_f1


def test_scores_by_hand():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([0, 0, 1, 1, 2, 0]), torch.tensor([0, 1, 1, 1, 2, 2]))
    # class 0: tp 1, fn 0, fp 2 -> IoU 1/3; class 1: tp 2, fn 1, fp 0 -> 2/3; class 2: 1/2
    torch.testing.assert_close(cm.iou(), torch.tensor([1 / 3, 2 / 3, 1 / 2], dtype=torch.float64))
    assert cm.overall_accuracy() == pytest.approx(4 / 6)
    assert cm.mean_class_accuracy() == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    assert cm.mean_iou() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


def test_absent_and_ignored_classes_leave_the_mean():
    cm = ConfusionMatrix(4, ignore=(0,))
    cm.update(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]))
    assert math.isnan(float(cm.iou()[3]))
    assert cm.mean_iou() == pytest.approx((1 / 2 + 0.0) / 2)  # classes 1 and 2


def test_micro_f1():
    logits = torch.tensor([[1.0, -1.0], [1.0, 1.0]])
    y = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    assert micro_f1(logits, y) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    with pytest.raises(ValueError, match="differ"):
        micro_f1(logits, y[:1])
