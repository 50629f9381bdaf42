"""Training: the one loop (:func:`train`, a small core and its callbacks), its tasks (node,
graph, point clouds, inductive), the step, checkpoints, distributed data parallelism,
evaluation, leaderboard summaries and S3DIS's 6-fold protocol."""

import importlib
import pkgutil

from revgnn.config.train import TrainConfig
from revgnn.training.best_weights import BestWeights
from revgnn.training.callback import Callback
from revgnn.training.checkpoint import CheckpointError, load_checkpoint, load_trained
from revgnn.training.checkpointer import Checkpointer
from revgnn.training.collapse import CollapseMonitor
from revgnn.training.compile_monitor import CompileMonitor
from revgnn.training.early_stopping import EarlyStopping
from revgnn.training.evaluate import evaluate
from revgnn.training.experiment import Experiment, prepare
from revgnn.training.graph_task import GraphTask
from revgnn.training.inductive_node_task import InductiveNodeTask
from revgnn.training.interrupted import TrainingInterrupted
from revgnn.training.lazy_batches import LazyBatches
from revgnn.training.leaderboard import leaderboard, leaderboard_markdown
from revgnn.training.log import JsonlLog, iter_records
from revgnn.training.loop import Loop, default_callbacks, train
from revgnn.training.memory_monitor import MemoryMonitor
from revgnn.training.metis import MetisPartition
from revgnn.training.node_task import NodeTask
from revgnn.training.optimizers import Optimizers
from revgnn.training.partition import (
    FullBatch,
    Partitioner,
    RandomPartition,
    make_partitioner,
    multiview_predict,
)
from revgnn.training.point_cloud_task import PointCloudTask
from revgnn.training.progress import Progress
from revgnn.training.result import TrainResult
from revgnn.training.run_record import RecipeRecord, load_run
from revgnn.training.seed import seed_everything
from revgnn.training.six_fold import six_fold
from revgnn.training.step import train_step
from revgnn.training.task import TASKS, Evaluation, Task, build_task, register_task

# Tasks added as files register themselves on import.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "TASKS",
    "BestWeights",
    "Callback",
    "CheckpointError",
    "Checkpointer",
    "CollapseMonitor",
    "CompileMonitor",
    "EarlyStopping",
    "Evaluation",
    "Experiment",
    "FullBatch",
    "GraphTask",
    "InductiveNodeTask",
    "JsonlLog",
    "LazyBatches",
    "Loop",
    "MemoryMonitor",
    "MetisPartition",
    "NodeTask",
    "Optimizers",
    "Partitioner",
    "PointCloudTask",
    "Progress",
    "RandomPartition",
    "RecipeRecord",
    "Task",
    "TrainConfig",
    "TrainResult",
    "TrainingInterrupted",
    "build_task",
    "default_callbacks",
    "evaluate",
    "iter_records",
    "leaderboard",
    "leaderboard_markdown",
    "load_checkpoint",
    "load_run",
    "load_trained",
    "make_partitioner",
    "multiview_predict",
    "prepare",
    "register_task",
    "seed_everything",
    "six_fold",
    "train",
    "train_step",
]
