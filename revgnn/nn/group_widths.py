"""Checks of a grouped reversible block's widths against its input, before it runs.

A block of :math:`C` groups splits the :math:`D` channels of its input into :math:`C` groups of
:math:`D / C`; each group function reads one group. A PyG conv built for the whole width fails
deep inside with a shape error; these say what to build instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["check_channels", "check_group_widths"]


def check_channels(channels: int, num_groups: int) -> None:
    """The ``channels`` split evenly into ``num_groups`` groups."""
    if channels % num_groups != 0:
        raise ValueError(f"num_groups={num_groups} must divide channels={channels}")


def check_group_widths(layers: Sequence[Any], channels: int) -> None:
    """A group function that declares an int ``in_channels`` (PyG's convs do) must take one
    group's width: each of the ``C`` groups reads ``channels / C`` of them, never all."""
    for layer in layers:
        group = channels // layer.num_groups
        for conv in layer.convs:
            width = getattr(conv, "in_channels", None)
            if isinstance(width, int) and width > 0 and width != group:
                raise ValueError(
                    f"a group function ({type(conv).__name__}) takes in_channels={width}, but "
                    f"each of the {layer.num_groups} groups of the {channels} channels has "
                    f"{group}: build it with in_channels={group} (channels // num_groups)"
                )
