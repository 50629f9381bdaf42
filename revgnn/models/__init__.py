from revgnn.models.rev_gnn import RevGNN

__all__ = ["RevGNN"]
