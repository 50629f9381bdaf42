"""Dropout with one mask per training step, shared by every layer (RevGNN)."""

from __future__ import annotations

from torch import Tensor, nn

from revgnn.nn.dropout import dropout_mask
from revgnn.utils.checks import check_probability

__all__ = ["SharedDropout"]


class SharedDropout(nn.Module):
    r"""Draws one dropout mask per forward pass, to be applied at every layer.

    The RevGNN paper applies the same dropout mask in all reversible blocks of a step: the
    mask is sampled once from the stack's input and passed to every block as an argument,
    so no block draws random numbers and the backward recomputation needs no RNG replay.
    The mask is already scaled by :math:`1 / (1 - p)`; a block applies it as ``x * mask``.

    Paper: Li, Müller, Ghanem, Koltun, "Training Graph Neural Networks with 1000 Layers",
    ICML 2021 (Section 3.1, and the ``SharedDropout`` of the authors' code).

    Args:
        p (float): Probability of an element being zeroed. (default: ``0.5``)

    Shapes:
        - **input:** any tensor (only its shape, dtype and device are used).
        - **output:** a mask of the same shape, or ``None`` in evaluation mode or when
          ``p == 0``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        check_probability("p", p)
        self.p = p

    def forward(self, like: Tensor) -> Tensor | None:
        if not self.training or self.p == 0.0:
            return None
        return dropout_mask(like, self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
