r"""One grouped reversible block (RevGNN; Li, Müller, Ghanem, Koltun, ICML 2021)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from revgnn.nn.reversible_function import ReversibleBackward, inverse_stack, run_stack
from revgnn.utils.modules import reset_module
from revgnn.utils.warn import warn_user

__all__ = ["GroupAddRev"]


class GroupAddRev(nn.Module):
    r"""One grouped reversible block,

    .. math::

        \mathbf{X}'_0 = \sum_{i=2}^{C} \mathbf{X}_i, \qquad
        \mathbf{X}'_i = f_i(\mathbf{X}'_{i-1}, \mathbf{A}, \mathbf{U}) + \mathbf{X}_i,

    from Li, Müller, Ghanem, Koltun, `"Training Graph Neural Networks with 1000 Layers"
    <https://arxiv.org/abs/2106.07476>`_ (ICML 2021). Wraps any message-passing function
    ``f(x, edge_index, *args, **kwargs)`` whose input and output widths are equal. With
    ``num_groups=C`` the block holds ``C`` independently initialised copies
    :math:`f_1, \dots, f_C` of ``conv``, each on ``channels // C`` channels.

    Arguments after ``edge_index`` follow one rule:

    * a positional tensor whose last dimension equals the block's channels is split into
      ``C`` chunks along that dimension, group ``i`` receiving chunk ``i`` (dropout masks,
      per-channel edge embeddings);
    * any other positional argument, and every keyword argument, is passed unchanged to every
      group (pass an edge embedding by keyword to share it between the groups).

    Tensor arguments receive gradients. Blocks called one after another (``x = block(x,
    edge_index, mask)`` in a Python loop, as PyG's examples stack theirs) keep one residual
    stream between them, as a :class:`~revgnn.ReversibleSequential` of the same blocks does,
    with its outputs bit for bit (random layers aside, which each call draws for itself): a
    block called on the output of the previous one continues its float64 stream and frees
    it, and its backward pass hands that stream back, rebuilt exactly, so memory does not
    grow with depth. Nothing the caller holds is freed. A block that cannot continue the
    stream (another ``stream_dtype`` or number of groups, a stream of the output's own dtype
    or a damped one, an output used by a block before, a saved-tensor hook that keeps a copy)
    keeps its own, with a warning.

    Args:
        conv (torch.nn.Module or sequence of torch.nn.Module): The function :math:`f` of one
            group, deep-copied and re-initialised for the other groups, or a sequence of
            ``C`` group functions.
        split_dim (int, optional): The dimension split into groups: the node features' last,
            ``-1`` (or ``1``), the only one supported; in PyG's argument order, so that
            PyG's positional calls work. (default: ``-1``)
        num_groups (int, optional): The number of groups :math:`C \ge 2`; required when
            ``conv`` is a single module.
        disable (bool, optional): PyG's name for ``reversible=False``. (default: ``False``)
        num_bwd_passes (int, optional): Accepted for PyG compatibility and not needed: the
            backward pass may run again with ``retain_graph=True``, as often as wanted.
        reversible (bool, optional): If ``False``, run the same computation with ordinary
            autograd (every intermediate saved), for reference checks. (default: ``True``)
        stream_dtype (torch.dtype, optional): The dtype the residual stream is accumulated in
            (see :class:`~revgnn.ReversibleSequential`). (default: ``torch.float64``)

    Shapes:
        - **input:** node features :math:`(N, D)`, edge indices :math:`(2, E)`, extra
          arguments as above.
        - **output:** node features :math:`(N, D)`, in fp32 when the input is fp16/bf16.
    """

    def __init__(
        self,
        conv: nn.Module | Sequence[nn.Module],
        split_dim: int = -1,
        num_groups: int | None = None,
        disable: bool = False,
        num_bwd_passes: int = 1,
        *,
        reversible: bool = True,
        stream_dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if split_dim not in (-1, 1):
            raise ValueError(
                f"split_dim={split_dim} is not supported: the groups split the node features' "
                f"last dimension (split_dim=-1, the default)"
            )
        if num_bwd_passes < 1:
            raise ValueError(f"num_bwd_passes={num_bwd_passes} must be at least 1")
        if isinstance(conv, nn.Module) and not isinstance(conv, nn.ModuleList):
            if num_groups is None:
                raise ValueError("num_groups is required when conv is a single module")
            if num_groups < 2:
                raise ValueError(f"num_groups={num_groups} must be at least 2")
            convs = [conv]
            for _ in range(num_groups - 1):
                group_conv = copy.deepcopy(conv)
                reset_module(group_conv)
                convs.append(group_conv)
        else:
            convs = list(conv)
            if num_groups is not None and num_groups != len(convs):
                raise ValueError(
                    f"num_groups={num_groups} does not match the {len(convs)} convs given"
                )
            if len(convs) < 2:
                raise ValueError(f"num_groups={len(convs)} must be at least 2")
        self.convs = nn.ModuleList(convs)
        self.reversible = reversible and not disable
        self.stream_dtype = stream_dtype

    @property
    def num_groups(self) -> int:
        return len(self.convs)

    def reset_parameters(self) -> None:
        for conv in self.convs:
            reset_module(conv)

    def forward(self, x: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> Tensor:
        out = run_stack(
            [self],
            x,
            edge_index,
            args,
            kwargs,
            reversible=self.reversible,
            stream_dtype=self.stream_dtype,
        )
        node = out.grad_fn
        if (
            isinstance(x.grad_fn, ReversibleBackward)
            and isinstance(node, ReversibleBackward)
            and node.source is None
        ):
            warn_user(
                "this GroupAddRev block could not continue the stream of the reversible block "
                "whose output it was called on (their stream dtypes or groups differ, the "
                "stream is the output's own dtype or damped, that output was used before, or a "
                "saved-tensor hook keeps a copy of the stream), so both keep a stream for the "
                "backward pass; blocks that continue one another, or one ReversibleSequential, "
                "keep memory independent of depth",
                once=True,
            )
        return out

    def inverse(self, y: Tensor, edge_index: Any, *args: Any, **kwargs: Any) -> Tensor:
        """Rebuild the block's input from its output ``y``, without gradients.

        Random layers (dropout) are not replayed here: call it in evaluation mode.
        """
        return inverse_stack([self], y, edge_index, args, kwargs, self.stream_dtype)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.convs[0]}, num_groups={self.num_groups})"
