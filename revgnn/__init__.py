"""revgnn: very deep graph neural networks with depth-independent memory."""

from revgnn.aggr import (
    LeanAggregation,
    PowerMeanAggregation,
    PowerSumAggregation,
    SoftmaxAggregation,
    SoftmaxSumAggregation,
    aggregation_resolver,
)
from revgnn.block import DeepGCNBlock, PreActConv
from revgnn.deq import DEQ, jacobian_regularizer
from revgnn.dropout import SharedDropout
from revgnn.gen_conv import GENConv
from revgnn.partition import FullBatch, MetisPartition, RandomPartition, multiview_predict
from revgnn.reversible import GroupAddRev, ReversibleSequential
from revgnn.solvers import ConvergenceWarning, SolverStats, register_solver, solve
from revgnn.train import TrainConfig, TrainResult, leaderboard, seed_everything

__version__ = "0.1.0"

__all__ = [
    "DEQ",
    "ConvergenceWarning",
    "DeepGCNBlock",
    "FullBatch",
    "GENConv",
    "GroupAddRev",
    "LeanAggregation",
    "MetisPartition",
    "PowerMeanAggregation",
    "PowerSumAggregation",
    "PreActConv",
    "RandomPartition",
    "ReversibleSequential",
    "SharedDropout",
    "SoftmaxAggregation",
    "SoftmaxSumAggregation",
    "SolverStats",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "aggregation_resolver",
    "jacobian_regularizer",
    "leaderboard",
    "multiview_predict",
    "register_solver",
    "seed_everything",
    "solve",
]
