"""Training: the one loop (:func:`train`), its tasks (node, graph, ...), checkpoints,
distributed data parallelism, evaluation and leaderboard summaries."""

from revgnn.training.checkpoint import CheckpointError, load_checkpoint
from revgnn.training.config import TrainConfig
from revgnn.training.evaluate import evaluate
from revgnn.training.graph_task import GraphTask
from revgnn.training.inductive_node_task import InductiveNodeTask
from revgnn.training.leaderboard import leaderboard, leaderboard_markdown
from revgnn.training.log import iter_records
from revgnn.training.loop import train
from revgnn.training.metis import MetisPartition
from revgnn.training.node_task import NodeTask
from revgnn.training.partition import (
    FullBatch,
    Partitioner,
    RandomPartition,
    make_partitioner,
    multiview_predict,
)
from revgnn.training.point_cloud_task import PointCloudTask
from revgnn.training.result import TrainResult
from revgnn.training.seed import seed_everything
from revgnn.training.step import train_step
from revgnn.training.task import Evaluation, Task

__all__ = [
    "CheckpointError",
    "Evaluation",
    "FullBatch",
    "GraphTask",
    "InductiveNodeTask",
    "MetisPartition",
    "NodeTask",
    "Partitioner",
    "PointCloudTask",
    "RandomPartition",
    "Task",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "iter_records",
    "leaderboard",
    "leaderboard_markdown",
    "load_checkpoint",
    "make_partitioner",
    "multiview_predict",
    "seed_everything",
    "train",
    "train_step",
]
