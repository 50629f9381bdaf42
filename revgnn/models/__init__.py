"""Ready models: RevGNN (and WT-RevGNN), DEQ-GNN, DeeperGCN, a graph-level wrapper (they share
the encoder and head modules by composition), the DeepGCNs for point clouds and PPI, and the
graph-free PointNet baseline."""

from revgnn.models.deep_gcn import DeepGCN
from revgnn.models.deeper_gcn import DeeperGCN
from revgnn.models.deq_gnn import DEQGNN
from revgnn.models.encoder import NodeEncoder
from revgnn.models.graph_predictor import GraphPredictor
from revgnn.models.head import Head
from revgnn.models.point_net import PointNet
from revgnn.models.rev_gnn import RevGNN

__all__ = [
    "DEQGNN",
    "DeepGCN",
    "DeeperGCN",
    "GraphPredictor",
    "Head",
    "NodeEncoder",
    "PointNet",
    "RevGNN",
]
