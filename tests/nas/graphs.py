"""Small graphs for the search tests."""

import torch


def ring(n: int) -> torch.Tensor:
    """Both directions of an ``n``-cycle, plus two chords, as an ``edge_index``."""
    i = torch.arange(n)
    src = torch.cat([i, (i + 1) % n, torch.tensor([0, n // 2])])
    dst = torch.cat([(i + 1) % n, i, torch.tensor([n // 2, 0])])
    return torch.stack([src, dst])
