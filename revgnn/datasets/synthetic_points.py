r"""Procedural point clouds, shipped as code: textured surfaces whose class lies in their local
geometry (synthetic; no download, any size, reproducible from a seed).

Every cloud is a closed surface, a unit sphere with a radial texture,

.. math::

    \mathbf{p} = \big(1 + a\,\tau(\mathbf{u})\big)\,\mathbf{u}, \qquad \mathbf{u} \in S^2,

sampled uniformly, then scaled (0.7 to 1.3), rotated at random and jittered with Gaussian
noise (0.005). The texture :math:`\tau` (amplitude :math:`a` drawn in 0.18 to 0.25, in a
random frame) is one of

* ``smooth``: :math:`\tau = 0`;
* ``stripes-3``, ``stripes-6``: :math:`\cos(f \pi z)`, :math:`f` = 3 or 6;
* ``checker-3``, ``checker-6``: :math:`\cos(f \phi)\cos(f \pi z)`, :math:`\phi` the azimuth;
* ``spots``, ``dimples``: ten Gaussian bumps, outwards or inwards.

The two frequencies of one pattern give the same distribution of radii (:math:`z` is
uniform on the sphere), so a model that sees points one at a time (a per-point MLP with a
global max pool, PointNet-style) must tell them apart from where the points lie, while a
graph conv sees the slopes between neighbours.

* ``synthetic-textures``: classification, one texture per cloud (7 classes).
* ``synthetic-texture-parts``: part segmentation, the sphere cut by two random planes into
  up to four regions, each with its own texture; a point's label is its region's texture.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from revgnn.config.data import DataConfig
from revgnn.datasets.point_clouds import PointClouds
from revgnn.datasets.registry import register_dataset

__all__ = ["TEXTURES", "synthetic_point_clouds"]

#: Texture names, in label order.
TEXTURES = ("smooth", "stripes-3", "stripes-6", "checker-3", "checker-6", "spots", "dimples")


def _rotations(n: int, gen: torch.Generator) -> Tensor:
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    det = torch.linalg.det(q)
    q[:, :, 0] *= det.sign().unsqueeze(-1)
    return q


def _texture(u: Tensor, label: Tensor, gen: torch.Generator) -> Tensor:
    """τ(u) of each point of each cloud: ``u`` (S, N, 3) unit vectors, ``label`` (S, N)."""
    z = u[..., 2]
    phi = torch.atan2(u[..., 1], u[..., 0])
    tau = torch.zeros_like(z)
    for f, stripes, checker in ((3, 1, 3), (6, 2, 4)):
        tau = torch.where(label == stripes, torch.cos(f * math.pi * z), tau)
        tau = torch.where(label == checker, torch.cos(f * phi) * torch.cos(f * math.pi * z), tau)
    s = u.size(0)
    centres = torch.nn.functional.normalize(
        torch.randn(s, 10, 3, generator=gen, dtype=u.dtype), dim=-1
    )
    near = torch.einsum("snc,smc->snm", u, centres)  # cosine to each bump centre
    bumps = torch.exp((near - 1) / 0.02).sum(-1).clamp(max=1.0)
    tau = torch.where(label == 5, bumps, tau)
    return torch.where(label == 6, -bumps, tau)


def synthetic_point_clouds(
    kind: str = "classification",
    num_clouds: int = 2000,
    num_points: int = 512,
    seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """``(points (S, N, 3), labels)``: labels ``(S,)`` for ``kind="classification"``,
    ``(S, N)`` for ``kind="parts"`` (see the module docstring)."""
    if kind not in ("classification", "parts"):
        raise ValueError(f"kind={kind!r} must be 'classification' or 'parts'")
    if num_clouds < 1 or num_points < 1:
        raise ValueError(f"num_clouds={num_clouds} and num_points={num_points} must be >= 1")
    gen = torch.Generator().manual_seed(seed)
    s, n, k = num_clouds, num_points, len(TEXTURES)
    u = torch.nn.functional.normalize(
        torch.randn(s, n, 3, generator=gen, dtype=torch.float64), dim=-1
    )
    if kind == "classification":
        cloud_label = torch.randint(k, (s,), generator=gen)
        label = cloud_label.view(s, 1).expand(s, n)
    else:
        planes = torch.nn.functional.normalize(
            torch.randn(s, 2, 3, generator=gen, dtype=torch.float64), dim=-1
        )
        offsets = (torch.rand(s, 2, generator=gen, dtype=torch.float64) - 0.5) * 0.6
        side = (torch.einsum("snc,spc->snp", u, planes) > offsets.unsqueeze(1)).long()
        region = side[..., 0] * 2 + side[..., 1]  # up to four regions
        textures = torch.argsort(torch.rand(s, k, generator=gen), dim=-1)[:, :4]
        label = textures.gather(1, region)
    frame = _rotations(s, gen)
    local = torch.einsum("snc,scd->snd", u, frame)  # the texture's own random frame
    amplitude = 0.18 + 0.07 * torch.rand(s, 1, generator=gen, dtype=torch.float64)
    p = (1 + amplitude * _texture(local, label, gen)).unsqueeze(-1) * u
    scale = 0.7 + 0.6 * torch.rand(s, 1, 1, generator=gen, dtype=torch.float64)
    p = torch.einsum("snc,scd->snd", p * scale, _rotations(s, gen))
    p = p + 0.005 * torch.randn(p.shape, generator=gen, dtype=p.dtype)
    labels = cloud_label if kind == "classification" else label
    return p.float(), labels.long()


@register_dataset(
    "synthetic-textures",
    "synthetic-texture-parts",
    kind="points",
    needs_root=False,
    reads=("num_clouds", "num_points"),
)
def load_synthetic_points(name: str, root: str | None, cfg: DataConfig) -> PointClouds:
    """The synthetic sets (see the module docstring), split 80 / 10 / 10."""
    kind = "classification" if name == "synthetic-textures" else "parts"
    num = cfg.num_clouds or 2000
    if num < 10:
        raise ValueError(f"num_clouds={num} must be at least 10 (80 / 10 / 10 split)")
    x, y = synthetic_point_clouds(kind, num, cfg.num_points or 512, cfg.split_seed)
    a, b = int(0.8 * num), int(0.9 * num)
    split = {"train": torch.arange(a), "valid": torch.arange(a, b), "test": torch.arange(b, num)}
    segmentation = kind == "parts"
    return PointClouds(
        name,
        x,
        y,
        split,
        num_classes=len(TEXTURES),
        task="segmentation" if segmentation else "classification",
        metric="miou" if segmentation else "acc",
        class_names=list(TEXTURES),
        augment=not segmentation,
        split_info=f"synthetic, seed {cfg.split_seed}, 80 / 10 / 10",
    )
