"""revgnn: very deep graph neural networks with depth-independent memory."""

from revgnn.block import PreActConv
from revgnn.dropout import SharedDropout
from revgnn.reversible import GroupAddRev, ReversibleSequential

__version__ = "0.1.0"

__all__ = [
    "GroupAddRev",
    "PreActConv",
    "ReversibleSequential",
    "SharedDropout",
    "__version__",
]
