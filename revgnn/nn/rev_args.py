"""The extra arguments of one call of a reversible stack, with their tensors lifted out.

A :class:`~revgnn.nn.rev_stack.RevStack` passes every tensor argument of a call through its
autograd node (so that gradients reach them) and hands each group its share: chunk ``i`` of a
tensor split across the groups, the whole tensor otherwise (see :class:`~revgnn.GroupAddRev`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["RevArgs"]


@dataclass
class RevArgs:
    """The extra arguments of a call, with every tensor lifted out into ``tensors``.

    ``args``/``kwargs`` hold ``None`` where a tensor was lifted; ``chunked[k]`` says whether
    tensor ``k`` is split across groups (positional, last dimension equal to the channels).
    """

    args: list[Any]
    kwargs: dict[str, Any]
    arg_slots: list[int | None]
    kwarg_slots: dict[str, int]
    tensors: list[Tensor]
    chunked: list[bool]

    @classmethod
    def lift(cls, args: Sequence[Any], kwargs: dict[str, Any], channels: int) -> RevArgs:
        out = cls(list(args), dict(kwargs), [None] * len(args), {}, [], [])
        for k, a in enumerate(args):
            if isinstance(a, Tensor):
                out.arg_slots[k] = len(out.tensors)
                out.chunked.append(a.dim() >= 1 and a.size(-1) == channels)
                out.tensors.append(a)
                out.args[k] = None
        for name, a in kwargs.items():
            if isinstance(a, Tensor):
                out.kwarg_slots[name] = len(out.tensors)
                out.chunked.append(False)
                out.tensors.append(a)
                out.kwargs[name] = None
        return out

    def per_group(self, tensors: Sequence[Tensor | None], num_groups: int) -> list[list[Any]]:
        """Group ``i``'s value of every tensor slot: chunk ``i`` if chunked, else the tensor."""
        groups: list[list[Any]] = [[] for _ in range(num_groups)]
        for t, chunked in zip(tensors, self.chunked, strict=True):
            parts = t.chunk(num_groups, dim=-1) if (chunked and t is not None) else None
            for i in range(num_groups):
                groups[i].append(parts[i] if parts is not None else t)
        return groups

    def build(self, group_tensors: Sequence[Any]) -> tuple[list[Any], dict[str, Any]]:
        args = [group_tensors[s] if s is not None else a for a, s in zip(self.args, self.arg_slots)]
        kwargs = dict(self.kwargs)
        for name, s in self.kwarg_slots.items():
            kwargs[name] = group_tensors[s]
        return args, kwargs

    def leaves(
        self, num_groups: int, with_grad: bool, needs_grad: Sequence[bool]
    ) -> tuple[list[list[Any]], list[Tensor | None], list[list[Tensor | None]]]:
        """For a backward pass: one leaf per group and lifted tensor, shared by all layers;
        the full-size buffers their gradients accumulate into (``None`` where ``needs_grad``
        is false or not ``with_grad``); and each group's view of those buffers (its chunk for
        chunked tensors)."""
        c = num_groups
        leaves: list[list[Any]] = [[] for _ in range(c)]
        grads: list[Tensor | None] = []
        grad_views: list[list[Tensor | None]] = [[] for _ in range(c)]
        for t, chunked, need in zip(self.tensors, self.chunked, needs_grad):
            t = t.detach()
            grad = torch.zeros_like(t) if (with_grad and need) else None
            grads.append(grad)
            parts = t.chunk(c, dim=-1) if chunked else [t] * c
            gparts = grad.chunk(c, dim=-1) if (chunked and grad is not None) else [grad] * c
            shared = t.requires_grad_(True) if (grad is not None and not chunked) else None
            for i in range(c):
                if grad is None:
                    leaves[i].append(parts[i])
                elif chunked:
                    leaves[i].append(parts[i].detach().requires_grad_(True))
                else:
                    leaves[i].append(shared)
                grad_views[i].append(gparts[i])
        return leaves, grads, grad_views
