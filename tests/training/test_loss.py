import math

import pytest
import torch
import torch.nn.functional as F

from revgnn.training.loss import prediction_loss


def test_classes_and_labelled_binary_targets_with_smoothing():
    out = torch.randn(6, 3, dtype=torch.bfloat16)
    y = torch.tensor([0, 2, 1, 1, 0, 2])
    assert prediction_loss(out, y, "multiclass").dtype == torch.float32
    assert torch.allclose(
        prediction_loss(out, y, "multiclass", 0.2),
        F.cross_entropy(out.float(), y, label_smoothing=0.2),
    )
    logits = torch.randn(4, 2)
    targets = torch.tensor([[1.0, math.nan], [0.0, 1.0], [math.nan, math.nan], [1.0, 0.0]])
    labelled = ~targets.isnan()
    smoothed = targets[labelled] * 0.9 + 0.05
    expected = F.binary_cross_entropy_with_logits(logits[labelled], smoothed)
    assert torch.allclose(prediction_loss(logits, targets, "multilabel", 0.1), expected)
    empty = prediction_loss(logits, torch.full((4, 2), math.nan), "multilabel")
    assert empty.item() == 0.0
    with pytest.raises(ValueError, match="task='ranking' must be 'multiclass', 'multilabel' or"):
        prediction_loss(logits, targets, "ranking")


def test_regression_is_the_squared_error_of_the_labelled_targets():
    out = torch.randn(4, 2, dtype=torch.bfloat16)
    targets = torch.tensor([[1.5, math.nan], [-3.0, 0.2], [math.nan, math.nan], [0.0, 7.0]])
    labelled = ~targets.isnan()
    expected = F.mse_loss(out.float()[labelled], targets[labelled])
    assert torch.equal(prediction_loss(out, targets, "regression"), expected)
    assert prediction_loss(out, torch.full((4, 2), math.nan), "regression").item() == 0.0
    with pytest.raises(ValueError, match=r"label_smoothing=0\.1 smooths class labels; a regr"):
        prediction_loss(out, targets, "regression", 0.1)
