import math

import pytest
import torch

from revgnn.datasets.point_metrics import ConfusionMatrix, ShapeIoU, micro_f1


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


def test_shape_iou_by_hand():
    # Category 0 has parts {0, 1}, category 1 has parts {2, 3, 4}.
    metric = ShapeIoU([[0, 1], [2, 3, 4]])
    big = 10.0
    # Shape A (category 0): the logits of part 4 are largest but 4 is not one of its parts.
    a = torch.tensor([[0.0, 1.0, 0, 0, big], [2.0, 1.0, 0, 0, big], [0.0, 1.0, 0, 0, big]])
    # -> predicted [1, 0, 1] against [1, 1, 1]: part 0 IoU 0/1, part 1 IoU 2/3.
    metric.update(a.unsqueeze(0), torch.tensor([[1, 1, 1]]), torch.tensor([0]))
    # Shape B (category 1): predicted [2, 2, 3] against [2, 2, 2]: part 2 2/3, part 3 0/1,
    # part 4 neither labelled nor predicted -> 1.
    b = torch.zeros(1, 3, 5)
    b[0, :2, 2] = 1.0
    b[0, 2, 3] = 1.0
    metric.update(b, torch.tensor([[2, 2, 2]]), torch.tensor([1]))
    # Shape C (category 1): perfect.
    c = torch.zeros(1, 3, 5)
    c[0, :, 4] = 1.0
    metric.update(c, torch.tensor([[4, 4, 4]]), torch.tensor([1]))
    shape_a, shape_b, shape_c = (0 + 2 / 3) / 2, (2 / 3 + 0 + 1) / 3, 1.0
    scores = metric.scores()
    assert scores["instance_miou"] == pytest.approx((shape_a + shape_b + shape_c) / 3)
    assert scores["class_miou"] == pytest.approx((shape_a + (shape_b + shape_c) / 2) / 2)
    with pytest.raises(ValueError, match="must be"):
        metric.update(c, torch.tensor([[4, 4]]), torch.tensor([1]))
