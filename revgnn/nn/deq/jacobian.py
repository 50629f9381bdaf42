r"""The Jacobian regulariser of implicit models (Bai, Koltun, Kolter, ICML 2021)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["jacobian_regularizer"]


def jacobian_regularizer(
    fz: Tensor, z: Tensor, num_samples: int = 1, create_graph: bool = True
) -> Tensor:
    r"""Hutchinson estimate of :math:`\|\mathbf{J}\|_F^2 / n`, with :math:`\mathbf{J} =
    \partial f(\mathbf{z}) / \partial \mathbf{z}` and :math:`n` the number of entries of ``z``.

    .. math::

        \|\mathbf{J}\|_F^2 = \mathbb{E}_{\boldsymbol{\epsilon} \sim \mathcal{N}(0, \mathbf{I})}
        \|\boldsymbol{\epsilon}^\top \mathbf{J}\|_2^2,

    averaged over ``num_samples`` vector-Jacobian products. Added to the loss it keeps
    :math:`f` contractive around its equilibrium, so that solvers converge in few iterations
    (Bai, Koltun, Kolter, `"Stabilizing Equilibrium Models by Jacobian Regularization"
    <https://arxiv.org/abs/2106.14342>`_, ICML 2021).

    Args:
        fz (torch.Tensor): :math:`f(\mathbf{z})`, computed with autograd from ``z``.
        z (torch.Tensor): The input, with ``requires_grad=True``.
        num_samples (int, optional): Random probes. (default: ``1``)
        create_graph (bool, optional): Keep the graph so the estimate can be differentiated
            (needs an :math:`f` that supports double backward). (default: ``True``)
    """
    if num_samples < 1:
        raise ValueError(f"num_samples={num_samples} must be at least 1")
    total = fz.new_zeros((), dtype=torch.float32)
    for _ in range(num_samples):
        eps = torch.randn_like(fz)
        (vjp,) = torch.autograd.grad(fz, z, eps, create_graph=create_graph, retain_graph=True)
        total = total + vjp.float().square().sum()
    return total / (num_samples * z.numel())
