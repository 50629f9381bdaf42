"""PyG's own tests of the classes revgnn replaces, run on revgnn's.

The ``test_*.py`` files here are PyG's (pyg-team/pytorch_geometric, commit 5c6461b2, MIT
licence, see SOURCE.md) with one change: their ``from torch_geometric.nn import ...`` lines
import revgnn's ``GENConv``, ``GroupAddRev``, ``DeepGCNLayer``, ``MultiAggregation`` and the
aggregations instead; ``test_rev_gnn_example.py`` runs the model of PyG's
``examples/rev_gnn.py`` on revgnn's ``GroupAddRev``. The two intended differences
(docs/pyg_compat.md) are strict expected failures, each with the exception it must raise, so
any other failure fails the suite.
"""

import pytest
import torch

#: test name -> (reason, the exception the difference raises)
DIFFERENCES = {
    "test_revgnn_forward_inverse": (
        "revgnn never frees the caller's input (PyG's GroupAddRev frees x's storage)",
        AssertionError,
    ),
    "test_multi_aggr": (
        "revgnn's aggregations are not TorchScript-able (custom autograd kernels; "
        "torch.jit.script is deprecated): the test passes up to its torch.jit.script line",
        torch.jit.frontend.NotSupportedError,
    ),
}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.originalname in DIFFERENCES:
            reason, raises = DIFFERENCES[item.originalname]
            item.add_marker(pytest.mark.xfail(reason=reason, raises=raises, strict=True))
