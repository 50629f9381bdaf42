"""revgnn: very deep graph neural networks with depth-independent memory.

The names a user reaches for are here; the subpackages hold the rest: :mod:`revgnn.nn`
(layers, :mod:`~revgnn.nn.conv`, :mod:`~revgnn.nn.aggr`, :mod:`~revgnn.nn.deq`),
:mod:`revgnn.solvers`, :mod:`revgnn.models`, :mod:`revgnn.training`, :mod:`revgnn.memory`,
:mod:`revgnn.datasets`, :mod:`revgnn.cli`.
"""

from revgnn.models import DEQGNN, DeeperGCN, RevGNN
from revgnn.nn import (
    DEQ,
    DeepGCNBlock,
    GENConv,
    GroupAddRev,
    LeanAggregation,
    MaxAggregation,
    MeanAggregation,
    PowerMeanAggregation,
    PowerSumAggregation,
    PreActConv,
    ReversibleSequential,
    SharedDropout,
    SoftmaxAggregation,
    SoftmaxSumAggregation,
    SumAggregation,
    aggregation_resolver,
    jacobian_regularizer,
)
from revgnn.solvers import ConvergenceWarning, SolverStats, register_solver, solve
from revgnn.training import (
    GraphTask,
    NodeTask,
    TrainConfig,
    TrainResult,
    evaluate,
    leaderboard,
    seed_everything,
    train,
)

__version__ = "0.2.0"

__all__ = [
    "DEQ",
    "DEQGNN",
    "ConvergenceWarning",
    "DeepGCNBlock",
    "DeeperGCN",
    "GENConv",
    "GraphTask",
    "GroupAddRev",
    "LeanAggregation",
    "MaxAggregation",
    "MeanAggregation",
    "NodeTask",
    "PowerMeanAggregation",
    "PowerSumAggregation",
    "PreActConv",
    "RevGNN",
    "ReversibleSequential",
    "SharedDropout",
    "SoftmaxAggregation",
    "SoftmaxSumAggregation",
    "SolverStats",
    "SumAggregation",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "aggregation_resolver",
    "evaluate",
    "jacobian_regularizer",
    "leaderboard",
    "register_solver",
    "seed_everything",
    "solve",
    "train",
]
