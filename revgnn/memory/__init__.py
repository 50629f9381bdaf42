"""Measuring and predicting the memory of GNN training.

* :mod:`~revgnn.memory.saved`: saved-activation bytes of a forward pass (the figure that is
  :math:`O(LND)` for a plain deep GNN and :math:`O(ND)` for a reversible one);
* :mod:`~revgnn.memory.peak`: peak bytes of a training step (CUDA allocator / CPU profiler)
  and the process's RSS;
* :mod:`~revgnn.memory.cuda_workspace`: the cuBLAS workspaces a CUDA step allocates;
* :mod:`~revgnn.memory.plan`: the calibrated analytic model and the planner (deepest /
  widest model in a budget); its constants are fitted by :mod:`revgnn.profiling`;
* :mod:`~revgnn.memory.kinds` / :mod:`~revgnn.memory.baselines`: the model kinds, revgnn's and
  the PyG peers.
"""

from revgnn.memory.cuda_workspace import step_workspace_bytes
from revgnn.memory.peak import (
    PeakMemory,
    live_tensor_bytes,
    measure_peak,
    mmap_large_blocks,
    peak_rss_bytes,
)
from revgnn.memory.saved import (
    SavedBytes,
    SavedTensorCounter,
    ctx_attribute_storages,
    saved_activation_bytes,
)

__all__ = [
    "PeakMemory",
    "SavedBytes",
    "SavedTensorCounter",
    "ctx_attribute_storages",
    "live_tensor_bytes",
    "measure_peak",
    "mmap_large_blocks",
    "peak_rss_bytes",
    "saved_activation_bytes",
    "step_workspace_bytes",
]
