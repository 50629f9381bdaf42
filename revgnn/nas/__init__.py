"""Architecture search for GCN cells: SGAS (greedy decisions by Criterion 1 or 2), the DARTS
baseline, and LC-NAS's latency constraint; genotypes as JSON and the networks they build."""

from revgnn.nas.criteria import (
    criterion_scores,
    edge_importance,
    minmax,
    non_zero_distribution,
    selection_certainty,
    selection_stability,
)
from revgnn.nas.eval_network import EvalCell, EvalNetwork, train_genotype
from revgnn.nas.genotype import Genotype, plot_cell
from revgnn.nas.latency import LatencyTable, latency_loss, measure_cells, time_call
from revgnn.nas.operations import OPS, PRIMITIVES, make_op
from revgnn.nas.search import (
    SearchResult,
    SearchTask,
    darts_selection,
    decide,
    search,
    split_for_search,
)
from revgnn.nas.search_cell import NUM_EDGES, STEPS, MixedOp, SearchCell, edge_endpoints
from revgnn.nas.search_network import TASKS, SearchNetwork

__all__ = [
    "NUM_EDGES",
    "OPS",
    "PRIMITIVES",
    "STEPS",
    "TASKS",
    "EvalCell",
    "EvalNetwork",
    "Genotype",
    "LatencyTable",
    "MixedOp",
    "SearchCell",
    "SearchNetwork",
    "SearchResult",
    "SearchTask",
    "criterion_scores",
    "darts_selection",
    "decide",
    "edge_endpoints",
    "edge_importance",
    "latency_loss",
    "make_op",
    "measure_cells",
    "minmax",
    "non_zero_distribution",
    "plot_cell",
    "search",
    "selection_certainty",
    "selection_stability",
    "split_for_search",
    "time_call",
    "train_genotype",
]
