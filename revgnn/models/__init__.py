"""Ready models: RevGNN (and WT-RevGNN), DEQ-GNN, DeeperGCN, and a graph-level wrapper; they
share the encoder and head modules by composition."""

from revgnn.models.deeper_gcn import DeeperGCN
from revgnn.models.deq_gnn import DEQGNN
from revgnn.models.encoder import NodeEncoder
from revgnn.models.graph_predictor import GraphPredictor
from revgnn.models.head import Head
from revgnn.models.rev_gnn import RevGNN

__all__ = ["DEQGNN", "DeeperGCN", "GraphPredictor", "Head", "NodeEncoder", "RevGNN"]
