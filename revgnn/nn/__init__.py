"""Layers: the reversible engine, DeeperGCN's blocks, dropout, convolutions (:mod:`.conv`),
aggregators (:mod:`.aggr`), deep equilibrium layers (:mod:`.deq`), and the DeepGCNs' dilated
k-NN graphs and dynamic blocks."""

from revgnn.nn.aggr import (
    LeanAggregation,
    MaxAggregation,
    MeanAggregation,
    MultiAggregation,
    PowerMeanAggregation,
    PowerSumAggregation,
    SoftmaxAggregation,
    SoftmaxSumAggregation,
    SumAggregation,
    aggregation_resolver,
)
from revgnn.nn.conv import (
    EdgeConv,
    GENConv,
    LeanGATConv,
    MRConv,
    NodeMLP,
    PointGINConv,
    PointSAGEConv,
    conv_resolver,
    register_conv,
)
from revgnn.nn.deep_gcn_block import BLOCKS, DeepGCNBlock
from revgnn.nn.deep_gcn_layer import DeepGCNLayer
from revgnn.nn.deq import DEQ, EquilibriumCell, jacobian_regularizer
from revgnn.nn.drop_edge import drop_edges
from revgnn.nn.dropout import Dropout
from revgnn.nn.dynamic_block import DynamicBlock
from revgnn.nn.dynamic_conv import DynamicConv
from revgnn.nn.group_add_rev import GroupAddRev
from revgnn.nn.knn import DilatedKnnGraph, dilated_knn, knn_graph
from revgnn.nn.norm import norm_layer
from revgnn.nn.point_mlp import PointMLP
from revgnn.nn.pre_act_conv import PreActConv
from revgnn.nn.res_plus import ResPlus
from revgnn.nn.reversible_sequential import ReversibleSequential
from revgnn.nn.shared_dropout import SharedDropout

__all__ = [
    "BLOCKS",
    "DEQ",
    "DeepGCNBlock",
    "DeepGCNLayer",
    "DilatedKnnGraph",
    "Dropout",
    "DynamicBlock",
    "DynamicConv",
    "EdgeConv",
    "EquilibriumCell",
    "GENConv",
    "GroupAddRev",
    "LeanAggregation",
    "LeanGATConv",
    "MRConv",
    "MaxAggregation",
    "MeanAggregation",
    "MultiAggregation",
    "NodeMLP",
    "PointGINConv",
    "PointMLP",
    "PointSAGEConv",
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
    "dilated_knn",
    "drop_edges",
    "jacobian_regularizer",
    "knn_graph",
    "norm_layer",
    "register_conv",
]
