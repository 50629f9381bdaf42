r"""SGAS's greedy edge-selection criteria (Li et al., CVPR 2020, Sec. 3.2).

For an undecided edge with architecture weights :math:`\alpha` over the operations
(``none`` first), :math:`p = \mathrm{softmax}(\alpha)`:

* edge importance :math:`EI = \sum_{o \ne \mathrm{none}} p_o`;
* selection certainty :math:`SC = 1 - H(\tilde{p}) / \log(|O| - 1)`, with
  :math:`\tilde{p} = p_{1:} / EI` the distribution over the non-zero operations;
* selection stability :math:`SS = \frac{1}{K} \sum_{k=1}^{K} \sum_o \min(\tilde{p}^{(t-k)}_o,
  \tilde{p}_o)`, the mean histogram intersection with the last :math:`K \le 4` epochs.

Criterion 1 is :math:`N(EI) \cdot N(SC)`, Criterion 2 :math:`N(EI) \cdot N(SC) \cdot N(SS)`,
:math:`N` the min-max normalisation over the undecided edges (0 where all values are equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "criterion_scores",
    "edge_importance",
    "minmax",
    "non_zero_distribution",
    "selection_certainty",
    "selection_stability",
]


def edge_importance(alpha: Tensor) -> Tensor:
    """:math:`EI` of every edge: ``alpha`` :math:`(E, |O|)` → :math:`(E,)`."""
    return torch.softmax(alpha, dim=-1)[:, 1:].sum(-1)


def non_zero_distribution(alpha: Tensor) -> Tensor:
    r""":math:`\tilde{p}`: the softmax over the operations other than ``none``, renormalised."""
    p = torch.softmax(alpha, dim=-1)[:, 1:]
    return p / p.sum(-1, keepdim=True)


def selection_certainty(alpha: Tensor) -> Tensor:
    """:math:`SC = 1 - H(\\tilde{p}) / \\log(|O| - 1)` of every edge."""
    p = non_zero_distribution(alpha)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(-1)
    return 1 - entropy / math.log(p.size(-1))


def selection_stability(alpha: Tensor, history: Sequence[Tensor]) -> Tensor:
    r""":math:`SS`: mean histogram intersection of :math:`\tilde{p}` with each of ``history``
    (earlier :math:`\tilde{p}`, oldest first; the last four are used); zeros without any."""
    p = non_zero_distribution(alpha)
    recent = list(history)[-4:]
    if not recent:
        return torch.zeros(p.size(0), dtype=p.dtype)
    return torch.stack([torch.minimum(h, p).sum(-1) for h in recent]).mean(0)


def minmax(values: Tensor, mask: Tensor) -> Tensor:
    """Min-max normalisation over the entries where ``mask`` holds (0 elsewhere, and 0 where
    those entries are all equal)."""
    out = torch.zeros_like(values)
    if not bool(mask.any()):
        return out
    v = values[mask]
    span = v.max() - v.min()
    out[mask] = (v - v.min()) / span if float(span) > 0 else torch.zeros_like(v)
    return out


def criterion_scores(
    alpha: Tensor, undecided: Tensor, criterion: int, history: Sequence[Tensor] = ()
) -> dict[str, Tensor]:
    """The criterion's score of every edge (``-inf`` for decided ones) and its factors:
    ``{"score", "importance", "certainty", "stability"}``."""
    if criterion not in (1, 2):
        raise ValueError(f"criterion={criterion} must be 1 or 2")
    alpha = alpha.detach().float()
    ei, sc = edge_importance(alpha), selection_certainty(alpha)
    ss = selection_stability(alpha, history)
    score = minmax(ei, undecided) * minmax(sc, undecided)
    if criterion == 2:
        score = score * minmax(ss, undecided)
    score = torch.where(undecided, score, torch.full_like(score, -math.inf))
    return {"score": score, "importance": ei, "certainty": sc, "stability": ss}
