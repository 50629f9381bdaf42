r"""The aggregators of DeeperGCN, each with a memory-lean path for training deep GNNs.

Every aggregator reduces the messages :math:`\mathbf{m}_{vu}` of the in-edges :math:`u \to v`
of each node :math:`v`, channel by channel: SoftMax (and softmax_sg, SoftMax_Sum), PowerMean
(and PowerMean_Sum), mean, max and sum (Li, Xiong, Thabet, Ghanem, "DeeperGCN: All You Need to
Train Deeper GCNs", 2020). Each is one file here; its class registers its names with
:func:`aggregation_resolver`, and every module of this package is imported, so adding an
aggregator is adding one file. The lean path (:mod:`revgnn.nn.aggr.lean`) keeps no
:math:`E \times D` tensor; the plain path (``lean=False``) is ordinary autograd, the reference
the lean path is tested against. Isolated nodes aggregate to 0 in every aggregator and path,
with finite gradients.
"""

import importlib
import pkgutil

from revgnn.nn.aggr.base import AGGREGATIONS, DegreeScaled, LeanAggregation
from revgnn.nn.aggr.lean import fused_aggregate
from revgnn.nn.aggr.max import MaxAggregation
from revgnn.nn.aggr.mean import MeanAggregation
from revgnn.nn.aggr.multi import MultiAggregation
from revgnn.nn.aggr.power_mean import PowerMeanAggregation, PowerSumAggregation
from revgnn.nn.aggr.resolver import aggregation_options, aggregation_resolver
from revgnn.nn.aggr.segments import set_sorted_segments, sorted_segments_enabled
from revgnn.nn.aggr.softmax import SoftmaxAggregation, SoftmaxSumAggregation
from revgnn.nn.aggr.sum import SumAggregation

# Aggregators added as files register themselves on import.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "AGGREGATIONS",
    "DegreeScaled",
    "LeanAggregation",
    "MaxAggregation",
    "MeanAggregation",
    "MultiAggregation",
    "PowerMeanAggregation",
    "PowerSumAggregation",
    "SoftmaxAggregation",
    "SoftmaxSumAggregation",
    "SumAggregation",
    "aggregation_options",
    "aggregation_resolver",
    "fused_aggregate",
    "set_sorted_segments",
    "sorted_segments_enabled",
]
