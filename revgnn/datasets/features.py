r"""Node-feature preprocessing, a step of the recipe (``DataConfig.features``).

Loaders return the features as the dataset's files hold them (as PyG's dataset classes
return them); the recipe says what is done to them before training:

* ``"raw"``: nothing;
* ``"row"``: every row divided by its sum (GCN's preprocessing of bag-of-words features);
* ``"standard"``: every column centred and divided by its standard deviation over the
  nodes (features of mixed units and scales);
* ``"auto"``: chosen from the features by :func:`revgnn.config.adapt.feature_rule`.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from revgnn.datasets.node_dataset import NodeDataset

__all__ = ["TRANSFORMS", "row_normalize", "standardize", "with_features"]

NOTES = {"row": "features row-normalised", "standard": "features standardised"}


def row_normalize(x: Tensor) -> Tensor:
    """Each row divided by its sum (rows summing to less than 1 are left as they are)."""
    return x / x.sum(dim=-1, keepdim=True).clamp_min(1.0)


def standardize(x: Tensor) -> Tensor:
    r""":math:`(x - \mu) / \sigma` per column over the nodes (constant columns become 0)."""
    mean = x.mean(dim=0, keepdim=True)
    std = x.std(dim=0, keepdim=True)
    return (x - mean) / torch.where(std > 0, std, torch.ones_like(std))


#: The preprocessing step of each ``features`` value but ``"raw"`` and ``"auto"``.
TRANSFORMS = {"row": row_normalize, "standard": standardize}


def with_features(dataset: NodeDataset, mode: str) -> NodeDataset:
    """``dataset`` with its node features preprocessed by ``mode``, the step noted in its
    description."""
    if mode == "raw":
        return dataset
    if mode not in TRANSFORMS:
        raise ValueError(f"features={mode!r} must be one of raw, row, standard (auto is resolved)")
    data = dataset.data.clone()
    data.x = TRANSFORMS[mode](data.x.float())
    notes = "; ".join(n for n in (dataset.notes, NOTES[mode]) if n)
    return replace(dataset, data=data, notes=notes)
