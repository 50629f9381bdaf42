r"""Node-feature preprocessing, a step of the recipe (``DataConfig.features``).

Loaders return the features as the dataset's files hold them (as PyG's dataset classes
return them); the recipe says what is done to them before training:

* ``"raw"``: nothing;
* ``"row"``: every row divided by its sum (GCN's preprocessing of bag-of-words features);
* ``"row_scaled"``: ``"row"``, then times the mean row sum over the nodes: nodes equalised as
  ``"row"`` equalises them, the features' overall scale kept as the files hold it;
* ``"standard"``: every column centred and divided by its standard deviation over the
  nodes (features of mixed units and scales);
* ``"auto"``: chosen from the features by :func:`revgnn.config.adapt.feature_rule`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["TRANSFORMS", "row_normalize", "row_scale", "standardize", "with_features"]

NOTES = {
    "row": "features row-normalised",
    "row_scaled": "features row-normalised and scaled by the mean row sum",
    "standard": "features standardised",
}


def row_normalize(x: Tensor) -> Tensor:
    """Each row divided by its sum (rows summing to less than 1 are left as they are)."""
    return x / x.sum(dim=-1, keepdim=True).clamp_min(1.0)


def row_scale(x: Tensor) -> Tensor:
    r""":func:`row_normalize`, times the mean row sum :math:`\bar s` over the nodes:
    :math:`x_i \bar s / s_i`. Rows are equalised, and a bag-of-words row keeps about as many
    ones' worth of input as the raw row (Coauthor CS: 60), where :func:`row_normalize` leaves
    1."""
    return row_normalize(x).mul_(x.sum(dim=-1).mean().clamp_min(1.0))


def standardize(x: Tensor) -> Tensor:
    r""":math:`(x - \mu) / \sigma` per column over the nodes (constant columns become 0)."""
    mean = x.mean(dim=0, keepdim=True)
    std = x.std(dim=0, keepdim=True)
    return (x - mean).div_(torch.where(std > 0, std, torch.ones_like(std)))


#: The preprocessing step of each ``features`` value but ``"raw"`` and ``"auto"``.
TRANSFORMS = {"row": row_normalize, "row_scaled": row_scale, "standard": standardize}


def with_features(dataset: NodeDataset, mode: str) -> NodeDataset:
    """``dataset`` with its node features preprocessed by ``mode``, the step noted in its
    description."""
    if mode == "raw":
        return dataset
    if mode not in TRANSFORMS:
        raise ValueError(
            f"features={mode!r} must be one of raw, {', '.join(TRANSFORMS)} (auto is resolved)"
        )
    return dataset.preprocessed(NOTES[mode], x=TRANSFORMS[mode](dataset.data.x.float()))
