import pytest
import torch

from revgnn.datasets import load_dataset
from revgnn.datasets.features import (
    TRANSFORMS,
    row_normalize,
    row_scale,
    standardize,
    with_features,
)
from revgnn.memory import measure_peak


def test_row_normalised_rows_sum_to_one_and_empty_rows_stay_zero():
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 3.0, 1.0]])
    out = row_normalize(x)
    torch.testing.assert_close(out.sum(1), torch.tensor([1.0, 0.0, 1.0]))
    torch.testing.assert_close(out[2], torch.tensor([0.0, 0.75, 0.25]))


def test_scaled_rows_are_the_normalised_rows_times_the_mean_row_sum():
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 3.0, 1.0], [1.0, 1.0, 1.0]])
    out = row_scale(x)
    torch.testing.assert_close(out.sum(1), torch.tensor([2.25, 0.0, 2.25, 2.25]))  # mean 9/4
    torch.testing.assert_close(out[2], torch.tensor([0.0, 0.75, 0.25]) * 2.25)
    # Inputs whose rows sum to less than 1 on average are not scaled down.
    torch.testing.assert_close(row_scale(x / 100), row_normalize(x / 100))


def test_standardised_columns_have_zero_mean_unit_std_and_constants_become_zero():
    x = torch.tensor([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    out = standardize(x)
    torch.testing.assert_close(out.mean(0), torch.zeros(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[:, [0, 2]].std(0), torch.ones(2))
    assert torch.equal(out[:, 1], torch.zeros(3))


def test_with_features_preprocesses_a_copy_and_notes_it():
    cora = load_dataset("cora")
    raw = cora.data.x.clone()
    row = with_features(cora, "row")
    torch.testing.assert_close(row.data.x.sum(1), torch.ones(cora.num_nodes))
    assert torch.equal(cora.data.x, raw)  # the loaded dataset is untouched
    assert "features row-normalised" in row.describe()
    assert with_features(cora, "raw") is cora
    scaled = with_features(cora, "row_scaled")
    torch.testing.assert_close(scaled.data.x.sum(1), torch.full((cora.num_nodes,), 49216 / 2708))
    assert "scaled by the mean row sum" in scaled.describe()
    with pytest.raises(ValueError, match="features='auto' must be one of raw, row, row_scaled, s"):
        with_features(cora, "auto")


@pytest.mark.parametrize("mode", sorted(TRANSFORMS))
def test_preprocessing_makes_one_feature_matrix_and_copies_nothing_else(mode):
    # Features can be most of a graph's memory (Coauthor Physics: 1.08 GiB): each step makes its
    # output and at most small temporaries beside it, and shares every other tensor.
    cora = load_dataset("cora")
    x = cora.data.x.float()
    out, peak = measure_peak(lambda: with_features(cora, mode))
    assert peak.step_bytes <= 1.1 * x.nbytes, (peak.step_bytes, x.nbytes)
    assert out.data.edge_index is cora.data.edge_index and out.data.y is cora.data.y
    torch.testing.assert_close(out.data.x, TRANSFORMS[mode](x.clone()))
