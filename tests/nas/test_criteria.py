import math

import pytest
import torch

from revgnn.nas.criteria import (
    criterion_scores,
    edge_importance,
    minmax,
    non_zero_distribution,
    selection_certainty,
    selection_stability,
)

# Three edges over {none, a, b}: p = [.2 .4 .4], [.5 .45 .05], [.1 .6 .3].
ALPHA = torch.tensor([[0.2, 0.4, 0.4], [0.5, 0.45, 0.05], [0.1, 0.6, 0.3]]).log()
ALL = torch.tensor([True, True, True])


def test_importance_and_certainty_equal_the_hand_values():
    assert torch.allclose(edge_importance(ALPHA), torch.tensor([0.8, 0.5, 0.9]))
    assert torch.allclose(
        non_zero_distribution(ALPHA), torch.tensor([[0.5, 0.5], [0.9, 0.1], [2 / 3, 1 / 3]])
    )
    h1 = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))  # 0.325083
    h2 = -(2 / 3 * math.log(2 / 3) + 1 / 3 * math.log(1 / 3))  # 0.636514
    expected = torch.tensor([0.0, 1 - h1 / math.log(2), 1 - h2 / math.log(2)])
    assert torch.allclose(selection_certainty(ALPHA), expected, atol=1e-6)
    assert torch.allclose(expected, torch.tensor([0.0, 0.531004, 0.081704]), atol=1e-6)


def test_stability_is_the_mean_histogram_intersection_over_the_last_four():
    h1 = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0]])
    h2 = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    # min-sums: h1 -> 1, 1, 1/3; h2 -> .5, 1, 1/3
    got = selection_stability(ALPHA, [h1, h2])
    assert torch.allclose(got, torch.tensor([0.75, 1.0, 1 / 3]), atol=1e-6)
    old = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    last_four = (3 * torch.tensor([0.5, 1.0, 1 / 3]) + torch.tensor([1.0, 1.0, 1 / 3])) / 4
    got = selection_stability(ALPHA, [old, h2, h2, h2, h1])
    assert torch.allclose(got, last_four, atol=1e-6), "only the last four epochs count"
    assert torch.equal(selection_stability(ALPHA, []), torch.zeros(3))


def test_criteria_are_products_of_min_max_normalised_factors():
    # N(EI) = [.75, 0, 1], N(SC) = [0, 1, .081704 / .531004]
    c1 = criterion_scores(ALPHA, ALL, 1)["score"]
    assert torch.allclose(c1, torch.tensor([0.0, 0.0, 0.081704 / 0.531004]), atol=1e-5)
    h1 = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.0, 1.0]])
    h2 = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    # N(SS) = [.625, 1, 0]: the least stable edge loses its lead under Criterion 2
    c2 = criterion_scores(ALPHA, ALL, 2, [h1, h2])["score"]
    assert torch.allclose(c2, torch.zeros(3), atol=1e-6)
    alpha = torch.tensor([[0.1, 0.8, 0.1], [0.5, 0.45, 0.05], [0.1, 0.6, 0.3]]).log()
    c2 = criterion_scores(alpha, ALL, 2, [h1, h2])
    ss = minmax(c2["stability"], ALL)
    expected = minmax(c2["importance"], ALL) * minmax(c2["certainty"], ALL) * ss
    assert torch.allclose(c2["score"], expected) and float(c2["score"][0]) > 0


def test_decided_edges_score_minus_infinity_and_do_not_enter_the_normalisation():
    mask = torch.tensor([True, True, False])
    score = criterion_scores(ALPHA, mask, 1)["score"]
    assert score[2] == -math.inf
    # over edges 0, 1 only: N(EI) = [1, 0], N(SC) = [0, 1]
    assert torch.equal(score[:2], torch.zeros(2))


def test_minmax_of_equal_values_is_zero_and_rejects_bad_criteria():
    assert torch.equal(minmax(torch.ones(3), ALL), torch.zeros(3))
    assert torch.equal(minmax(torch.arange(3.0), torch.zeros(3, dtype=torch.bool)), torch.zeros(3))
    with pytest.raises(ValueError, match="criterion=3 must be 1 or 2"):
        criterion_scores(ALPHA, ALL, 3)
