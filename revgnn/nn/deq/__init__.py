"""Deep equilibrium layers: the DEQ layer, its cell for graphs, the Jacobian regulariser."""

from revgnn.nn.deq.deq import DEQ
from revgnn.nn.deq.equilibrium_cell import EquilibriumCell
from revgnn.nn.deq.jacobian import jacobian_regularizer

__all__ = ["DEQ", "EquilibriumCell", "jacobian_regularizer"]
