"""Ready models, by composition of the same parts (an encoder, a body, a head): RevGNN (and
WT-RevGNN), DEQ-GNN, DeeperGCN, a graph-level wrapper, the DeepGCNs for point clouds and PPI,
and the graph-free PointNet baseline. Each model file registers its builder in
:data:`MODELS`; :func:`revgnn.build_model` builds one from a config."""

import importlib
import pkgutil

from revgnn.models.deep_gcn import DeepGCN
from revgnn.models.deeper_gcn import DeeperGCN
from revgnn.models.deq_gnn import DEQGNN
from revgnn.models.encoder import NodeEncoder
from revgnn.models.graph_predictor import GraphPredictor
from revgnn.models.head import Head
from revgnn.models.point_net import PointNet
from revgnn.models.registry import MODELS, register_model
from revgnn.models.rev_gnn import RevGNN

# Models added as files register themselves on import.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "DEQGNN",
    "MODELS",
    "DeepGCN",
    "DeeperGCN",
    "GraphPredictor",
    "Head",
    "NodeEncoder",
    "PointNet",
    "RevGNN",
    "register_model",
]
