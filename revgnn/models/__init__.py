from revgnn.models.deeper_gcn import DeeperGCN
from revgnn.models.deq_gnn import DEQGNN
from revgnn.models.rev_gnn import RevGNN

__all__ = ["DEQGNN", "DeeperGCN", "RevGNN"]
