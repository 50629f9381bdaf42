"""The DeepGCNs' architectures by name (Li et al., ICCV 2019 / TPAMI 2021): ``resgcn-28``,
``rev-resgcn-151``, ... The per-dataset recipes of the reference code are the shipped recipes
``deepgcn/<dataset>`` (:mod:`revgnn.config`). Parameter counts of the published
configurations (checked by the tests): ModelNet40 ResGCN-28 3,256,168, ResGCN-14 2,221,288,
DenseGCN-14 8,824,040; PPI ResMRGCN-28 x 256 14,762,105, DenseMRGCN-14 x 256 53,417,593.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ARCHITECTURES", "architecture"]

#: Architecture names: ``<backbone>gcn-<layers>``, backbone ``res``, ``dense``, ``plain``, or
#: ``rev-resgcn`` for reversible residual blocks (additive coupling is residual by nature,
#: so plain and dense backbones have no reversible form).
ARCHITECTURES = (
    "resgcn-14", "resgcn-28", "resgcn-56", "resgcn-112", "resgcn-151",
    "densegcn-14", "densegcn-28", "plaingcn-28", "plaingcn-56",
    "rev-resgcn-28", "rev-resgcn-56", "rev-resgcn-112", "rev-resgcn-151",
)  # fmt: skip

#: As the papers write them too: ResGCN-28, Rev-ResGCN_112.
_NAME = re.compile(r"^(rev[-_]?)?(res|dense|plain)gcn[-_]?(\d+)$", re.IGNORECASE)


def architecture(name: str) -> dict[str, Any]:
    """The DeepGCN arguments of an architecture name (``backbone``, ``num_blocks``)."""
    match = _NAME.match(name)
    if match is None:
        raise ValueError(
            f"architecture {name!r} is not <res|dense|plain>gcn-<layers> or "
            f"rev-resgcn-<layers> (e.g. {', '.join(ARCHITECTURES[:4])})"
        )
    rev, kind, layers = match.groups()
    kind = kind.lower()
    if rev and kind != "res":
        raise ValueError(
            f"architecture {name!r}: only residual backbones have a reversible form "
            "(rev-resgcn-<layers>)"
        )
    if int(layers) < 2:
        raise ValueError(f"architecture {name!r} needs at least 2 layers (head + one block)")
    return {"backbone": "rev" if rev else kind, "num_blocks": int(layers)}
