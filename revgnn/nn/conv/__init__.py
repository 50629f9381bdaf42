"""Graph convolutions and the registry that builds them by name (:func:`conv_resolver`).

Every module of this package is imported, so a file that registers a builder with
:func:`register_conv` adds a conv that every model can use.
"""

import importlib
import pkgutil

from revgnn.nn.conv.edge_conv import EdgeConv
from revgnn.nn.conv.gat_conv import LeanGATConv
from revgnn.nn.conv.gen_conv import GENConv
from revgnn.nn.conv.mr_conv import MRConv
from revgnn.nn.conv.node_mlp import NodeMLP
from revgnn.nn.conv.point_gin_conv import PointGINConv
from revgnn.nn.conv.point_sage_conv import PointSAGEConv
from revgnn.nn.conv.registry import CONVS, ConvSpec, conv_resolver, register_conv

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "CONVS",
    "ConvSpec",
    "EdgeConv",
    "GENConv",
    "LeanGATConv",
    "MRConv",
    "NodeMLP",
    "PointGINConv",
    "PointSAGEConv",
    "conv_resolver",
    "register_conv",
]
