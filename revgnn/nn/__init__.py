"""Layers: the reversible engine, DeeperGCN's blocks, dropout, convolutions (:mod:`.conv`),
aggregators (:mod:`.aggr`) and deep equilibrium layers (:mod:`.deq`)."""

from revgnn.nn.aggr import (
    LeanAggregation,
    MaxAggregation,
    MeanAggregation,
    PowerMeanAggregation,
    PowerSumAggregation,
    SoftmaxAggregation,
    SoftmaxSumAggregation,
    SumAggregation,
    aggregation_resolver,
)
from revgnn.nn.conv import GENConv, NodeMLP, conv_resolver, register_conv
from revgnn.nn.deep_gcn_block import BLOCKS, DeepGCNBlock
from revgnn.nn.deq import DEQ, EquilibriumCell, jacobian_regularizer
from revgnn.nn.drop_edge import drop_edges
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.norm import norm_layer
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.nn.res_plus import ResPlus
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.nn.shared_dropout import SharedDropout

__all__ = [
    "BLOCKS",
    "DEQ",
    "DeepGCNBlock",
    "EquilibriumCell",
    "GENConv",
    "GroupAddRev",
    "LeanAggregation",
    "MaxAggregation",
    "MeanAggregation",
    "NodeMLP",
    "PowerMeanAggregation",
    "PowerSumAggregation",
    "PreActConv",
    "ResPlus",
    "ReversibleSequential",
    "SharedDropout",
    "SoftmaxAggregation",
    "SoftmaxSumAggregation",
    "SumAggregation",
    "aggregation_resolver",
    "conv_resolver",
    "drop_edges",
    "jacobian_regularizer",
    "norm_layer",
    "register_conv",
]
